// 100rel (RFC 3262) through the proxy against sipp peers on a trunk: reliable 183 and PRACK in the
// early dialog (the 183 retransmitted after it), a PRACK after the 200; a trunk in `disable` mode
// gets Supported without 100rel (the other tags kept) and a Require: 100rel caller gets 420; a
// trunk in `auto` mode that answers PRACK with 405 gets no 100rel on its next call, also after a
// restart, until the operator resets it in the admin API.
import t from 'tap';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { startTestAdmin } from '../helpers/admin-client.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, scenario, sippReport, startSipp, summary, type SippResult } from '../helpers/sipp.js';
import { until } from '../helpers/wait.js';

t.setTimeout(120_000);

/** Supported header values of the INVITEs a sipp received (by Call-ID: retransmissions once). */
function invitedSupported(log: string): string[] {
  const byCall = new Map<string, string>();
  for (const m of log.split(/^-{10,}.*$/m)) {
    if (!/^INVITE \S+ SIP\/2\.0/m.test(m)) continue;
    const callId = /^Call-ID:\s*(\S+)/im.exec(m)?.[1];
    if (callId !== undefined) byCall.set(callId, (/^Supported:\s*(.*?)\s*$/im.exec(m)?.[1]) ?? '');
  }
  return [...byCall.values()];
}

const trunk = (port: number, rel100: string): Record<string, unknown> => ({ name: 'a', addresses: [`127.0.0.1:${port}`], rel100 });
const ROUTES = [{ prefix: '8', trunks: ['a'] }];

async function uac(file: string, proxyPort: number): Promise<SippResult> {
  return runSipp(['-sf', scenario(file), '-s', '8139', `127.0.0.1:${proxyPort}`, ...await loopbackArgs(await freeUdpPort()), '-m', '1', '-timeout', '15s', '-timeout_error'], { timeoutMs: 20_000, traceMessages: true });
}

if (requireSipp(t)) {
  t.test('transparent: retransmitted reliable 183, PRACK in the early dialog, the 200 and BYE', async (t) => {
    const pa = await freeUdpPort();
    const uas = await startSipp(['-sf', scenario('uas-100rel.xml'), ...await loopbackArgs(pa), '-m', '1'], { timeoutMs: 30_000, traceMessages: true });
    t.teardown(() => uas.stop(500));
    const proxy = await startTestProxy({ trunks: [trunk(pa, 'passthrough')], routes: ROUTES });
    t.teardown(() => proxy.close());
    const r = await uac('uac-prack.xml', proxy.udpPort);
    t.equal(summary(r).successful, 1, 'the caller PRACKed and completed the call', { sipp: sippReport(r) });
    // counted where sipp logs a datagram received (it prints a provisional it ignores a second time)
    t.equal((r.messages.match(/message received \[\d+\] bytes :\s*SIP\/2\.0 183 /g) ?? []).length, 2, 'both copies of the reliable 183 reached the caller');
    const u = await uas.done;
    t.equal(summary(u).successful, 1, 'the callee got the PRACK with RAck 1 1 INVITE', { sipp: sippReport(u) });
  });

  t.test('transparent: a PRACK after the 200 is routed', async (t) => {
    const pa = await freeUdpPort();
    const uas = await startSipp(['-sf', scenario('uas-100rel-late-prack.xml'), ...await loopbackArgs(pa), '-m', '1'], { timeoutMs: 30_000 });
    t.teardown(() => uas.stop(500));
    const proxy = await startTestProxy({ trunks: [trunk(pa, 'passthrough')], routes: ROUTES });
    t.teardown(() => proxy.close());
    const r = await uac('uac-prack-after-200.xml', proxy.udpPort);
    t.equal(summary(r).successful, 1, { sipp: sippReport(r) });
    const u = await uas.done;
    t.equal(summary(u).successful, 1, 'the callee got the late PRACK', { sipp: sippReport(u) });
  });

  t.test('disable: Supported loses only 100rel; a Require: 100rel caller gets 420 and the trunk nothing', async (t) => {
    const pa = await freeUdpPort();
    const uas = await startSipp(['-sf', scenario('trunk-uas.xml'), ...await loopbackArgs(pa)], { timeoutMs: 30_000, traceMessages: true });
    t.teardown(() => uas.stop(500));
    const proxy = await startTestProxy({ trunks: [trunk(pa, 'disable')], routes: ROUTES });
    t.teardown(() => proxy.close());
    const r = await uac('uac-supported-100rel.xml', proxy.udpPort);
    t.equal(summary(r).successful, 1, { sipp: sippReport(r) });
    const r420 = await uac('uac-require-100rel.xml', proxy.udpPort);
    t.equal(summary(r420).successful, 1, '420 with Unsupported: 100rel', { sipp: sippReport(r420) });
    const u = await uas.stop(500);
    t.same(invitedSupported(u.messages), ['timer, replaces'], 'one INVITE reached the trunk, without 100rel');
  });

  t.test('auto: a PRACK answered 405 disables 100rel for the next calls, across a restart, until reset', async (t) => {
    const store = join(mkdtempSync(join(tmpdir(), 'sipshard-rel100-')), 'state.msgpack');
    const cfg = (port: number): Record<string, unknown> => ({ trunks: [trunk(port, 'auto')], routes: ROUTES, registrar: { storePath: store } });
    const pa = await freeUdpPort();
    const carrier = await startSipp(['-sf', scenario('uas-prack-405.xml'), ...await loopbackArgs(pa), '-m', '1'], { timeoutMs: 30_000 });
    t.teardown(() => carrier.stop(500));
    let proxy = await startTestProxy(cfg(pa));
    const r = await uac('uac-prack-refused.xml', proxy.udpPort);
    t.equal(summary(r).successful, 1, 'the call that met the 405 went as passthrough would: 405 to the PRACK, the call answered', { sipp: sippReport(r) });
    t.ok(await until(() => proxy.rel100Learned().some((l) => l.peer === 'a'), 3000), 'learned on the main thread');
    t.equal(summary(await carrier.done).successful, 1);
    await proxy.close();

    const pb = await freeUdpPort();
    const uas = await startSipp(['-sf', scenario('trunk-uas.xml'), ...await loopbackArgs(pb)], { timeoutMs: 30_000, traceMessages: true });
    t.teardown(() => uas.stop(500));
    proxy = await startTestProxy(cfg(pb));
    t.teardown(() => proxy.close());
    const admin = await startTestAdmin(proxy);
    t.teardown(() => admin.admin.close());
    const peers = await admin.call('/api/peers');
    t.match(peers.body.trunks[0], { name: 'a', rel100: { configured: 'auto', mode: 'disable', learnedStatus: 405, learnedAt: /^\d{4}-/ } }, 'the admin API shows the learned mode and when');
    let c = await uac('uac-supported-100rel.xml', proxy.udpPort);
    t.equal(summary(c).successful, 1, { sipp: sippReport(c) });
    const reset = await admin.call('/api/peers/a/rel100/reset', { method: 'POST' });
    t.match(reset.body, { peer: 'a', reset: true, rel100: { mode: 'passthrough', learnedAt: null } });
    t.equal((await admin.call('/api/peers/nope/rel100/reset', { method: 'POST' })).status, 404);
    await new Promise((r) => setTimeout(r, 100)); // the reset reaches the shards with their next batch
    c = await uac('uac-supported-100rel.xml', proxy.udpPort);
    t.equal(summary(c).successful, 1, { sipp: sippReport(c) });
    const u = await uas.stop(500);
    t.same(invitedSupported(u.messages), ['timer, replaces', '100rel, timer, replaces'], 'after the restart no 100rel; after the reset 100rel again');
    const metrics = await admin.call('/metrics');
    t.match(metrics.text, /sipshard_shard_rel100_learned_total 0/, 'the counter is exported (this process learned nothing)');
  });
}
