// Trunks and the dial plan against sipp peers: a route over two trunks, the first with
// requestUriParams user=phone and an OPTIONS keep-alive; when its sipp is stopped it is marked down
// and calls go to the second; it comes back when a sipp answers again. A caller claiming a trunk
// from elsewhere gets 403; a call to tel:+86-139-0108-8888 reaches the user the route names.
import t from 'tap';
import { createSocket } from 'node:dgram';
import type { TrunkState } from '../../lib/peers/peer-state.js';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, scenario, sippReport, startSipp, summary } from '../helpers/sipp.js';
import { until } from '../helpers/wait.js';

t.setTimeout(120_000);

/** Request-URIs of the INVITEs sipp received (retransmissions counted once per Call-ID). */
function inviteUris(log: string): string[] {
  const byCall = new Map<string, string>();
  for (const m of log.split(/^-{10,}.*$/m)) {
    const line = /^INVITE (\S+) SIP\/2\.0/m.exec(m)?.[1];
    const callId = /^Call-ID:\s*(\S+)/im.exec(m)?.[1];
    if (line !== undefined && callId !== undefined) byCall.set(callId, line);
  }
  return [...byCall.values()];
}

if (requireSipp(t)) {
  t.test('a dead trunk fails over to the next; it comes back when it answers OPTIONS again', async (t) => {
    const [pa, pb] = [await freeUdpPort(), await freeUdpPort()];
    const trunkA = await startSipp(['-sf', scenario('trunk-uas.xml'), ...await loopbackArgs(pa)], { timeoutMs: 60_000, traceMessages: true });
    const trunkB = await startSipp(['-sf', scenario('trunk-uas.xml'), ...await loopbackArgs(pb)], { timeoutMs: 60_000, traceMessages: true });
    t.teardown(() => Promise.all([trunkA.stop(1000), trunkB.stop(1000)]));
    const proxy = await startTestProxy({
      trunks: [
        { name: 'a', addresses: [`127.0.0.1:${pa}`], requestUriParams: 'user=phone', keepAlive: { intervalSeconds: 1, failuresBeforeDown: 2 } },
        { name: 'b', addresses: [`127.0.0.1:${pb}`] },
      ],
      routes: [{ prefix: '8', trunks: ['a', 'b'], strip: 1, prepend: '+86' }, { prefix: '89', destination: 'sip:127.0.0.1:9', strip: 2 }],
    });
    t.teardown(() => proxy.close());
    const stateA = (): TrunkState | undefined => proxy.peerStates().find((s) => s.name === 'a') as TrunkState | undefined;
    t.ok(await until(() => stateA()?.lastStatus === 200, 5000), 'trunk a answers OPTIONS');

    const calls = async (n: number) => runSipp(['-sn', 'uac', '-s', '8139', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()), '-m', String(n), '-r', '10', '-d', '100', '-timeout', '20s', '-timeout_error'], { timeoutMs: 20_000 });
    let uac = await calls(3);
    t.equal(summary(uac).successful, 3, 'three calls through trunk a', { sipp: sippReport(uac) });

    await trunkA.stop(100); // SIGUSR1 then kill: trunk a stops answering
    const a1 = await trunkA.done;
    t.same(inviteUris(a1.messages), Array(3).fill(`sip:+86139@127.0.0.1:${pa};user=phone`), 'trunk a: strip 1, prepend +86, user=phone once');
    t.ok(await until(() => stateA()?.state === 'down', 6000), 'trunk a marked down after 2 unanswered OPTIONS');

    uac = await calls(3);
    t.equal(summary(uac).successful, 3, 'three calls through trunk b', { sipp: sippReport(uac) });
    t.equal(summary(uac).failed, 0);

    const trunkA2 = await startSipp(['-sf', scenario('trunk-uas.xml'), ...await loopbackArgs(pa)], { timeoutMs: 30_000 });
    t.teardown(() => trunkA2.stop(1000));
    t.ok(await until(() => stateA()?.state === 'up', 5000), 'trunk a is up again once it answers');
    const b = await trunkB.stop(1000);
    t.same(inviteUris(b.messages), Array(3).fill(`sip:+86139@127.0.0.1:${pb}`), 'trunk b: no parameters');
  });

  t.test('a caller claiming a trunk from another address gets 403', async (t) => {
    const proxy = await startTestProxy({
      trunks: [{ name: 'a', addresses: ['127.0.0.1:9'], domains: ['trunk-a.example'] }],
      routes: [{ prefix: '8', trunks: ['a'] }],
    });
    t.teardown(() => proxy.close());
    const r = await runSipp(['-sf', scenario('uac-claim-trunk.xml'), '-s', '8139', `127.0.0.1:${proxy.udpPort}`, '-i', '127.0.0.1', '-p', String(await freeUdpPort()), '-m', '1', '-timeout', '10s', '-timeout_error'], { timeoutMs: 10_000 });
    t.equal(r.code, 0, 'the INVITE got 403', { sipp: sippReport(r) });
    t.equal(summary(r).successful, 1);
  });

  t.test('tel:+86-139-0108-8888 reaches the user the route names', async (t) => {
    const uasPort = await freeUdpPort();
    const proxy = await startTestProxy({ auth: { register: false, invite: false }, routes: [{ prefix: '+86139', user: '101' }] });
    t.teardown(() => proxy.close());
    // user 101 registers from the port its sipp UAS will take (calls go to the REGISTER's source)
    await new Promise<void>((resolve, reject) => {
      const s = createSocket('udp4');
      s.on('message', (m) => { if (/^SIP\/2\.0 200 /.test(m.toString())) s.close(() => resolve()); });
      s.bind(uasPort, '127.0.0.1', () => s.send([
        `REGISTER sip:127.0.0.1:${proxy.udpPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${uasPort};branch=z9hG4bK-reg101`, 'Max-Forwards: 70',
        'From: <sip:101@127.0.0.1>;tag=r1', 'To: <sip:101@127.0.0.1>', 'Call-ID: reg101@test', 'CSeq: 1 REGISTER',
        `Contact: <sip:101@127.0.0.1:${uasPort}>`, 'Expires: 60', 'Content-Length: 0', '', '',
      ].join('\r\n'), proxy.udpPort, '127.0.0.1'));
      setTimeout(() => reject(new Error('no 200 to REGISTER')), 5000).unref();
    });
    await until(() => false, 200); // the binding reaches the other shard
    const uas = await startSipp(['-sn', 'uas', ...await loopbackArgs(uasPort)], { timeoutMs: 20_000, traceMessages: true });
    t.teardown(() => uas.stop(1000));
    const uac = await runSipp(['-sf', scenario('uac-tel.xml'), `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()), '-m', '1', '-timeout', '10s', '-timeout_error'], { timeoutMs: 10_000 });
    t.equal(uac.code, 0, 'the tel: call completed', { sipp: sippReport(uac) });
    const callee = await uas.stop(1000);
    // (killed while it lingers after the BYE, so its stats file is not final: the trace says it)
    t.match(callee.messages, /^INVITE sip:101@127\.0\.0\.1:\d+ SIP\/2\.0/m, "user 101's phone got the call");
    t.match(callee.messages, /^To: <sip:\+8613901088888@127\.0\.0\.1;user=phone>/m, 'To normalised to a SIP URI');
  });
}
