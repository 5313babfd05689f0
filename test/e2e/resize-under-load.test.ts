// The worker count changes twice in the middle of a sipp load: 2 -> 4 through the admin API, then
// 4 -> 1 through a config reload. Every call succeeds (its BYE answered 200), and once the pins of
// each change have settled every dialog sits on the shard its Call-ID hashes to now.
import t from 'tap';
import { shardFor } from '../../lib/shard/hash.js';
import { startTestAdmin } from '../helpers/admin-client.js';
import { startTestProxy, testConfig } from '../helpers/proxy-harness.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, sippReport, startSipp, summary } from '../helpers/sipp.js';
import { settledShardTotals } from '../helpers/shard-totals.js';

const CALLS = 200;
const RATE = 10;
const HOLD_MS = 6000;
// T1 of the proxy: pins last at most 64*T1 (+ margin), so a second change can follow within the load
const T1_MS = 50;

t.setTimeout(60_000);

interface DialogRow { shardId: number; callId: string; state: string }

if (requireSipp(t)) {
  t.test(`resizes 2 -> 4 (API) and 4 -> 1 (reload) during ${CALLS} calls of ${HOLD_MS / 1000} s at ${RATE}/s`, async (t) => {
    const uasPort = await freeUdpPort();
    const proxy = await startTestProxy({
      // placement by hash: the calls must sit on workers for a resize to move them (with the
      // default, load, calls at 10/s stay on the main thread's shard, which no resize touches)
      workers: 2, shard: { ...testConfig().shard, placement: 'hash' },
      proxy: { ...testConfig().proxy, t1Ms: T1_MS },
      routes: [{ prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' }],
    });
    t.teardown(() => proxy.close());
    const { admin, call } = await startTestAdmin(proxy);
    t.teardown(() => admin.close());
    // With T1 at 50 ms a shard slowed by the resize (or by a loaded machine) can let Timer A fire
    // before it reads the callee's 180/200, so the callee may get our INVITE again after its 200, as
    // RFC 3261 17.1.1.2 has it. A phone's transaction layer absorbs that; sipp's built-in uas aborts
    // the call on it (seen in CI: "while expecting 'ACK', received 'INVITE'", the same bytes 62 ms
    // after the first), so it is told to ignore unexpected messages, as the benches' sipp is.
    const uas = await startSipp(['-sn', 'uas', '-default_behaviors', 'all,-abortunexp', ...await loopbackArgs(uasPort)], { timeoutMs: 55_000 });
    t.teardown(() => uas.stop());
    const uacDone = runSipp([
      '-sn', 'uac', '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', String(RATE), '-d', String(HOLD_MS), '-timeout', '45s', '-timeout_error',
    ], { timeoutMs: 45_000 });

    const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
    const dialogs = async (): Promise<DialogRow[]> => (await call('/api/dialogs?limit=1000')).body.items as DialogRow[];
    /** wait until no Call-ID is pinned and no shard is retiring */
    const settled = async (): Promise<{ count: number; shards: number }> => {
      for (const until = Date.now() + 20_000; Date.now() < until; await sleep(100)) {
        const w = (await call('/api/workers')).body;
        if (w.pinned === 0 && w.shards.every((s: { retiring: boolean }) => !s.retiring)) return { count: w.count, shards: w.shards.length };
      }
      throw new Error('resize did not settle in 20 s');
    };
    const misplaced = (rows: DialogRow[], count: number): DialogRow[] => rows.filter((d) => d.shardId !== shardFor(d.callId, count));

    // calls up on both shards first, the oldest past Timer L (their transactions over: they move at once)
    for (const until = Date.now() + 10_000; Date.now() < until && (await dialogs()).filter((d) => d.state === 'confirmed').length < 50; ) await sleep(100);
    const before = await dialogs();
    t.ok(before.length >= 50, `${before.length} dialogs up before the first change`);

    const grow = await call('/api/workers', { method: 'PUT', body: JSON.stringify({ count: 4 }) });
    t.equal(grow.status, 200, JSON.stringify(grow.body));
    t.match(grow.body, { from: 2, to: 4, missing: [] });
    t.comment(`2 -> 4: ${JSON.stringify(grow.body)}`);
    t.ok(grow.body.dialogsMoved > 0, 'dialogs moved to the new shards at the switch');
    if (grow.body.pinned > 0) {
      const busy = await call('/api/workers', { method: 'POST', body: JSON.stringify({ count: 3 }) });
      t.equal(busy.status, 409, 'a second change waits until the first has settled');
      t.equal(busy.body.error.code, 'ADMIN_ERR_RESIZE_BUSY');
    }
    t.same(await settled(), { count: 4, shards: 4 });
    const at4 = await dialogs();
    t.same(misplaced(at4, 4), [], `every one of ${at4.length} dialogs is on the shard its Call-ID hashes to among 4`);
    t.ok(at4.some((d) => d.shardId >= 2), 'the new shards hold calls');

    const running = JSON.parse(JSON.stringify(proxy.config));
    const shrink = await call('/api/config/reload', { method: 'POST', body: JSON.stringify({ ...running, workers: 1 }) });
    t.equal(shrink.status, 200, JSON.stringify(shrink.body));
    t.equal(proxy.pool.size, 1);
    t.same(await settled(), { count: 1, shards: 1 }, 'the removed shards stopped once their pinned calls left');
    const at1 = await dialogs();
    t.same(misplaced(at1, 1), [], `all ${at1.length} dialogs on shard 0`);
    t.comment(`4 -> 1 (reload): ${JSON.stringify((await call('/api/workers')).body.lastResize)}`);

    const uac = await uacDone;
    const uasResult = await uas.stop();
    const callee = summary(uasResult);
    const caller = summary(uac);
    t.comment(`uac: ${JSON.stringify(caller)}`);
    t.comment(`uas: ${JSON.stringify(callee)}`);
    t.equal(uac.code, 0, 'sipp uac exit 0', { sipp: sippReport(uac) });
    t.equal(caller.successful, CALLS, 'every call successful: INVITE, ACK, BYE answered 200');
    t.equal(caller.failed, 0, 'no call failed');
    t.equal(callee.failed, 0, 'no call failed at the UAS', { sipp: sippReport(uasResult) });

    const totals = await settledShardTotals(proxy, (s) => s.confirmed === 0);
    t.equal(totals.confirmed, 0, 'no dialog left: every BYE found its dialog');
    t.equal(totals.internalErrors, 0);
    const metrics = (await call('/metrics')).text;
    t.match(metrics, /^sipshard_worker_resizes_total 2$/m);
    t.match(metrics, /^sipshard_workers 1$/m);
    const moved = /^sipshard_resize_dialogs_moved_total (\d+)$/m.exec(metrics);
    t.ok(Number(moved?.[1]) > 0, `dialogs moved: ${moved?.[1]}`);
  });
}
