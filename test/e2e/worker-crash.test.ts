// A shard thread dies mid-load: the pool replaces it at once, the proxy keeps serving, and only
// calls that were in flight on that shard may fail.
import t from 'tap';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { probeOptions } from '../helpers/options-probe.js';
import { shardTotals } from '../helpers/shard-totals.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, sippReport, startSipp, summary } from '../helpers/sipp.js';

const CALLS = 400;
const RATE = 40;
const AFTER = 40;

t.setTimeout(90_000);

if (requireSipp(t)) {
  t.test(`shard 0 crashes during ${CALLS} calls at ${RATE}/s on 2 workers`, async (t) => {
    const uasPort = await freeUdpPort();
    const proxy = await startTestProxy({ workers: 2, routes: [{ prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' }] });
    t.teardown(() => proxy.close());
    const uas = await startSipp(['-sn', 'uas', ...await loopbackArgs(uasPort)], { timeoutMs: 60_000 });
    t.teardown(() => uas.stop());
    const uacArgs = async (calls: number, rate: number, seconds: number): Promise<string[]> => [
      '-sn', 'uac', '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(calls), '-r', String(rate), '-d', '100', '-timeout', `${seconds}s`,
    ];

    const load = runSipp(await uacArgs(CALLS, RATE, 40), { timeoutMs: 40_000 });
    await new Promise((r) => setTimeout(r, 4000)); // ~160 calls in
    const crashedAt = Date.now();
    proxy.pool.dispatch(0, { t: 'crash' });
    while (proxy.pool.restarts === 0 && Date.now() - crashedAt < 2000) await new Promise((r) => setTimeout(r, 10));
    const replacedMs = Date.now() - crashedAt;
    t.equal(proxy.pool.restarts, 1, `the pool replaced shard 0 (after ${replacedMs} ms)`);
    t.ok(replacedMs < 2000, 'within 2 s');

    const uac = await load;
    const s = summary(uac);
    t.comment(`during the crash: ${JSON.stringify(s)} (replacement after ${replacedMs} ms)`);
    t.equal(s.created, CALLS, 'sipp placed every call', { sipp: sippReport(uac) });
    t.ok(s.successful > 0, 'calls succeeded');
    t.ok(s.failed < CALLS / 4, `failed calls (${s.failed}) are under 25%: those in flight on shard 0`, { sipp: sippReport(uac) });
    t.equal(s.successful + s.failed, CALLS, 'every call ended one way or the other');

    t.match(await probeOptions(proxy.udpPort), /^SIP\/2\.0 200 OK\r\n/, 'the proxy answers OPTIONS after the crash');
    const after = await runSipp([...await uacArgs(AFTER, 20, 20), '-timeout_error'], { timeoutMs: 20_000 });
    t.comment(`after the crash: ${JSON.stringify(summary(after))}`);
    t.equal(summary(after).successful, AFTER, 'new calls after the crash all succeed', { sipp: sippReport(after) });
    t.equal(summary(after).failed, 0);

    const callee = summary(await uas.stop());
    t.comment(`uas: ${JSON.stringify(callee)}`);
    const totals = await shardTotals(proxy);
    t.comment(`proxy: ${JSON.stringify(totals)} restarts: ${proxy.pool.restarts}`);
    t.equal(totals.internalErrors, 0, 'no internal errors');
    t.equal(proxy.pool.restarts, 1, 'one restart only');
  });
}
