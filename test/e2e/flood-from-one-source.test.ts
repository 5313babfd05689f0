// A bounded flood from 127.0.0.2 (garbage, valid INVITEs to nobody, TCP connections) while sipp
// places calls from 127.0.0.1: the flooding source is banned on the main thread before its
// messages reach a shard, the calls keep completing (under 0.1% failed), and it is all counted.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { shardTotals } from '../helpers/shard-totals.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, sippReport, startSipp, summary } from '../helpers/sipp.js';

const CALLS = 500;
const RATE = 50;
const FLOOD = 40_000; // datagrams, ~10k/s for 4 s
const CONNS = 300;

t.setTimeout(90_000);

function floodMessage(n: number, port: number): Buffer {
  if (n % 2 === 0) return randomBytes(50 + (n % 900));
  return Buffer.from([
    `INVITE sip:nobody${n}@127.0.0.1 SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.2:${port};branch=z9hG4bK-f${n};rport`, 'Max-Forwards: 70',
    `From: <sip:flood@127.0.0.2>;tag=f${n}`, `To: <sip:nobody${n}@127.0.0.1>`, `Call-ID: flood-${n}@127.0.0.2`, 'CSeq: 1 INVITE',
    'Content-Length: 0', '', ''].join('\r\n'));
}

if (requireSipp(t)) {
  t.test(`${CALLS} calls from 127.0.0.1 during a ${FLOOD}-datagram flood from 127.0.0.2`, async (t) => {
    const uasPort = await freeUdpPort();
    const proxy = await startTestProxy({ routes: [{ prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' }] });
    t.teardown(() => proxy.close());
    const uas = await startSipp(['-sn', 'uas', ...await loopbackArgs(uasPort)], { timeoutMs: 60_000 });
    t.teardown(() => uas.stop());
    const noise = createSocket('udp4');
    await new Promise<void>((r) => noise.bind(0, '127.0.0.2', r));
    t.teardown(() => noise.close());
    noise.on('message', () => undefined);

    const calls = runSipp([
      '-sn', 'uac', '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', String(RATE), '-d', '100', '-timeout', '40s', '-timeout_error',
    ], { timeoutMs: 40_000 });
    await new Promise((r) => setTimeout(r, 1500));
    const own = noise.address().port;
    const started = Date.now();
    const sockets: Socket[] = [];
    t.teardown(() => { for (const s of sockets) s.destroy(); });
    for (let n = 0; n < FLOOD; n += 100) {
      for (let i = n; i < n + 100; i++) noise.send(floodMessage(i, own), proxy.udpPort, '127.0.0.1');
      if (n % 4000 === 0 && sockets.length < CONNS) {
        for (let c = 0; c < 30; c++) {
          const s = connect({ host: '127.0.0.1', port: proxy.tcpPort, localAddress: '127.0.0.2' });
          s.on('error', () => undefined);
          sockets.push(s);
        }
      }
      await new Promise((r) => setTimeout(r, 10));
    }
    const floodMs = Date.now() - started;
    const uac = await calls;
    const s = summary(uac);
    t.comment(`flood of ${FLOOD} datagrams + ${sockets.length} TCP connects in ${floodMs} ms; calls: ${JSON.stringify(s)}`);
    t.comment(`guard: ${JSON.stringify(proxy.guard.stats)}; transport: ${JSON.stringify(proxy.transports.stats())}`);

    t.equal(s.created, CALLS, 'sipp placed every call', { sipp: sippReport(uac) });
    t.ok(s.failed <= CALLS * 0.001, `failed calls ${s.failed} of ${CALLS} (under 0.1%)`, { sipp: sippReport(uac) });
    t.equal(s.successful + s.failed, CALLS);
    const g = proxy.guard.stats;
    t.equal(g.bans, 1, 'the flooding source was banned (once: the ban outlasts the flood)');
    t.ok(proxy.guard.isBanned('127.0.0.2'), '127.0.0.2 is banned');
    t.notOk(proxy.guard.isBanned('127.0.0.1'), '127.0.0.1 is not');
    t.ok(g.rateLimited >= FLOOD * 0.9, `most of the flood dropped on the main thread (${g.rateLimited})`);
    t.ok(g.connectionsRefused > 0, `TCP connections from the banned source refused (${g.connectionsRefused})`);
    const totals = await shardTotals(proxy);
    t.equal(totals.internalErrors, 0, 'no internal errors');
    await uas.stop();
  });
}
