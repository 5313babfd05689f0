// The worker count through the admin API and config reload: token and count checked with stable
// codes; calls set up before a change end with BYE, with Route and without one (a UA ignoring
// Record-Route: only the moved dialog routes it), whether the BYE comes while their Call-ID is
// still pinned to its old shard or after, and after the new shard crashed and was replaced; an
// invalid count is refused and the old count runs on.
import t from 'tap';
import { resolveWorkerCount } from '../../lib/config/load-config.js';
import { shardFor } from '../../lib/shard/hash.js';
import { startTestAdmin } from '../helpers/admin-client.js';
import { UdpPeer } from '../helpers/child-proxy.js';
import { startTestProxy, testConfig } from '../helpers/proxy-harness.js';
import { answerCalls, callerRequest, header, oks } from '../helpers/raw-calls.js';
import { shardTotals } from '../helpers/shard-totals.js';

t.setTimeout(60_000);

const T1_MS = 50; // Timer L 3.2 s: pins settle quickly

t.test('resizing through the admin API and config reload', async (t) => {
  const caller = await UdpPeer.open();
  const callee = await UdpPeer.open();
  t.teardown(() => { caller.close(); callee.close(); });
  const proxy = await startTestProxy({
    // placement by hash: the calls must land on workers for a resize to move them (with the
    // default, load, a call at this rate stays on the main thread's shard, which no resize touches)
    workers: 2, proxy: { ...testConfig().proxy, t1Ms: T1_MS }, shard: { ...testConfig().shard, placement: 'hash' },
    routes: [{ prefix: '9', destination: `sip:127.0.0.1:${callee.port}`, strip: 1, prepend: '' }],
  });
  t.teardown(() => proxy.close());
  const { admin, call } = await startTestAdmin(proxy);
  t.teardown(() => admin.close());
  const put = (body: unknown, token?: string) => call('/api/workers', { method: 'PUT', body: typeof body === 'string' ? body : JSON.stringify(body), token });
  const settle = async (): Promise<void> => {
    for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 50))) {
      if (proxy.resizeStats().pinned === 0 && proxy.pool.retiringIds().length === 0) return;
    }
    throw new Error('resize did not settle');
  };

  await t.test('refusals: no token, bad counts (path, value, what is allowed)', async (t) => {
    t.equal((await put({ count: 3 }, '')).status, 401);
    for (const bad of [0, 65, 2.5, '3', null]) {
      const r = await put({ count: bad });
      t.equal(r.status, 400, `count ${JSON.stringify(bad)}`);
      t.match(r.body.error, { code: 'ADMIN_ERR_BAD_REQUEST', path: 'count', allowed: 'integer 1..64', message: /^count: got .*, must be an integer 1\.\.64$/ });
    }
    t.equal((await put('{not json')).body.error.code, 'ADMIN_ERR_BAD_REQUEST');
    t.equal((await call('/api/workers', { method: 'DELETE' })).body.error.code, 'ADMIN_ERR_METHOD_NOT_ALLOWED');
    t.equal(proxy.pool.size, 2, 'still 2 workers');
  });

  await t.test('calls set up on 2 workers end with BYE after 2 -> 3 (API) and 3 -> 2 (reload)', async (t) => {
    const pp = proxy.udpPort;
    answerCalls(callee, pp);
    // Call-IDs that move when growing to 3, and some that stay
    const ids: string[] = [];
    for (let i = 0; ids.length < 24; i++) ids.push(`rs-${i}@resize`);
    const moving = ids.filter((c) => shardFor(c, 3) === 2);
    t.ok(moving.length >= 4, `${moving.length} of ${ids.length} Call-IDs move to the new shard`);
    for (const c of ids) caller.send(callerRequest(caller, 'INVITE', `sip:9000@127.0.0.1:${pp}`, c, 1, false), pp);
    await caller.until((r) => oks(r, '1 INVITE').length === ids.length);
    const recordRoute = header(oks(caller.received, '1 INVITE')[0]!, 'Record-Route')[0]!;
    for (const c of ids) caller.send(callerRequest(caller, 'ACK', `sip:127.0.0.1:${callee.port}`, c, 1, true, [`Route: ${recordRoute}`]), pp);
    // half of them settled (Timer L over: they move at the switch), half fresh (pinned)
    const settledIds = ids.slice(0, 12);
    const freshIds = ids.slice(12);
    for (const c of freshIds) caller.send(callerRequest(caller, 'INFO', `sip:127.0.0.1:${callee.port}`, c, 2, true, [`Route: ${recordRoute}`]), pp);
    await new Promise((r) => setTimeout(r, 64 * T1_MS + 300));
    // the fresh ones get a new transaction now: an INVITE-less re-INVITE would be noisier; a second INFO does
    for (const c of freshIds) caller.send(callerRequest(caller, 'INFO', `sip:127.0.0.1:${callee.port}`, c, 3, true, [`Route: ${recordRoute}`]), pp);
    await new Promise((r) => setTimeout(r, 50));

    const grow = await put({ count: 3 });
    t.equal(grow.status, 200, JSON.stringify(grow.body));
    t.match(grow.body, { from: 2, to: 3, missing: [] });
    t.comment(`2 -> 3: ${JSON.stringify(grow.body)}`);
    t.ok(grow.body.dialogsMoved >= settledIds.filter((c) => shardFor(c, 3) === 2).length, 'settled calls moved at the switch');
    t.equal((await call('/api/workers')).body.count, 3);
    t.equal((await call('/api/stats')).body.shards.length, 3, '/api/stats shows the new count');

    // BYEs now: a pinned Call-ID's BYE reaches its old shard, the others their new owner; half
    // without Route (only the dialog can route them)
    const byeNow = ids.filter((_, i) => i % 3 === 0);
    byeNow.forEach((c, i) => caller.send(callerRequest(caller, 'BYE', `sip:127.0.0.1:${callee.port}`, c, 4, true, i % 2 === 0 ? [`Route: ${recordRoute}`] : []), pp));
    await caller.until((r) => oks(r, '4 BYE').length === byeNow.length);
    t.pass(`${byeNow.length} BYEs right after the change answered 200`);
    await settle();
    const rows = (await call('/api/dialogs?limit=100')).body.items as Array<{ shardId: number; callId: string }>;
    t.equal(rows.length, ids.length - byeNow.length, 'every other dialog is still there');
    t.same(rows.filter((d) => d.shardId !== shardFor(d.callId, 3)), [], 'each on the shard its Call-ID hashes to among 3');
    t.ok(rows.some((d) => d.shardId === 2), 'the new shard holds calls');

    // the new shard dies: its replacement starts from the checkpoints that moved with the calls
    const onNew = rows.filter((d) => d.shardId === 2).length;
    proxy.pool.dispatch(2, { t: 'crash' });
    for (const until = Date.now() + 5000; proxy.pool.restarts === 0 && Date.now() < until; ) await new Promise((r) => setTimeout(r, 10));
    const replaced = (await proxy.shardStats()).find((r) => r.shardId === 2)!;
    t.equal(proxy.pool.restarts, 1, 'shard 2 replaced');
    t.equal(replaced.dialogs.confirmed, onNew, `its replacement restored the ${onNew} moved dialogs`);
    t.equal(replaced.counters.dialogsRestored, onNew);

    const running = JSON.parse(JSON.stringify(proxy.config));
    const shrink = await call('/api/config/reload', { method: 'POST', body: JSON.stringify({ ...running, workers: 2 }) });
    t.equal(shrink.status, 200, JSON.stringify(shrink.body));
    t.equal(proxy.pool.size, 2);
    t.equal(proxy.config.workers, 2, 'the running config has the new count');
    await settle();
    t.same(proxy.pool.liveIds(), [0, 1], 'the removed shard stopped');
    const rest = ids.filter((c) => !byeNow.includes(c));
    rest.forEach((c, i) => caller.send(callerRequest(caller, 'BYE', `sip:127.0.0.1:${callee.port}`, c, 5, true, i % 2 === 0 ? [] : [`Route: ${recordRoute}`]), pp));
    await caller.until((r) => oks(r, '5 BYE').length === rest.length);
    t.pass(`${rest.length} BYEs after shrinking back answered 200`);
    const totals = await shardTotals(proxy);
    t.equal(totals.confirmed, 0, 'no dialog left');
    t.equal(totals.internalErrors, 0);
    t.equal(proxy.resizeStats().resizes, 2);
    const w = (await call('/api/workers')).body;
    t.match(w, { count: 2, resizes: 2, pinned: 0, lastResize: { from: 3, to: 2 } });
    t.comment(`3 -> 2 (reload): ${JSON.stringify(w.lastResize)}`);
  });

  await t.test('reload: an invalid count is refused naming path, value and what is allowed; auto resolves as at start', async (t) => {
    const running = JSON.parse(JSON.stringify(proxy.config));
    const bad = await call('/api/config/reload', { method: 'POST', body: JSON.stringify({ ...running, workers: -1 }) });
    t.equal(bad.status, 422);
    t.match(bad.body.error.problems, [`workers: got -1, must be 'auto' or an integer 0..64`]);
    t.equal(proxy.pool.size, 2, 'the old count keeps running');
    const inline = await call('/api/config/validate', { method: 'POST', body: JSON.stringify({ ...running, workers: 0 }) });
    t.same(inline.body.restartRequired, ['workers'], 'to the shard on the main thread only by a restart');
    const valid = await call('/api/config/validate', { method: 'POST', body: JSON.stringify({ ...running, workers: 5 }) });
    t.same(valid.body.restartRequired, [], 'a new count needs no restart');
    const auto = await call('/api/config/reload', { method: 'POST', body: JSON.stringify({ ...running, workers: 'auto' }) });
    t.equal(auto.status, 200, JSON.stringify(auto.body));
    t.equal(proxy.pool.size, resolveWorkerCount({ workers: 'auto' }));
  });
});
