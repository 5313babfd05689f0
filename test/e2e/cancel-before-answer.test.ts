// The caller cancels while the callee rings (RFC 3261 9, 16.10): through the proxy the caller gets
// 200 for its CANCEL and 487 for its INVITE, the callee gets the CANCEL, answers 487 and gets the
// ACK; no dialog survives.
import t from 'tap';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { settledShardTotals } from '../helpers/shard-totals.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, scenario, sippReport, startSipp, summary } from '../helpers/sipp.js';

const CALLS = 20;

t.setTimeout(60_000);

if (requireSipp(t)) {
  t.test(`${CALLS} INVITEs cancelled after 180 end with 200/487 on both sides`, async (t) => {
    const uasPort = await freeUdpPort();
    const proxy = await startTestProxy({ routes: [{ prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' }] });
    t.teardown(() => proxy.close());
    const uas = await startSipp(['-sf', scenario('uas-ring-no-answer.xml'), ...await loopbackArgs(uasPort), '-m', String(CALLS)], { timeoutMs: 30_000 });
    t.teardown(() => uas.stop());

    const uac = await runSipp([
      '-sf', scenario('uac-cancel.xml'), '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', '10', '-timeout', '20s', '-timeout_error',
    ], { timeoutMs: 20_000 });
    // the UAS ends by itself after its CALLS calls (-m), each ended by the ACK of the 487
    const callee = await uas.stop(3000);
    t.comment(`uac: ${JSON.stringify(summary(uac))}`);
    t.comment(`uas: ${JSON.stringify(summary(callee))}`);

    t.equal(uac.code, 0, 'caller: sipp exit 0', { sipp: sippReport(uac) });
    t.equal(summary(uac).successful, CALLS, 'caller: every call got 180, 200 (CANCEL), 487 (INVITE)');
    t.equal(summary(uac).failed, 0);
    t.equal(callee.code, 0, 'callee: sipp exit 0', { sipp: sippReport(callee) });
    t.equal(summary(callee).successful, CALLS, 'callee: every call got its CANCEL and the ACK of its 487');
    t.equal(summary(callee).failed, 0);

    const totals = await settledShardTotals(proxy, (s) => s.early === 0 && s.confirmed === 0);
    t.comment(`proxy: ${JSON.stringify(totals)}`);
    t.equal(totals.early, 0, 'no early dialog left');
    t.equal(totals.confirmed, 0, 'no dialog confirmed');
    t.equal(totals.internalErrors, 0, 'no internal errors');
    // completed transactions linger for Timer D (32 s) / J / K; a leaked one would have no timer. The
    // Completed non-INVITE ones kept in the store (the CANCELs' 200s) share the store's one expiry timer.
    t.ok(totals.transactions - totals.completed <= totals.timers, 'every transaction left outside the store still has a timer pending');
    t.ok(totals.completed === 0 || totals.timers > 0, "the store's records have their expiry timer");
  });
}
