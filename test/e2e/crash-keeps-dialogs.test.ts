// Calls are up, their shard dies: the replacement starts from the dialog checkpoints the main thread
// kept, so every call can still be ended with BYE, with a Route header or (for UAs that ignore
// Record-Route) without one. Calls on the other shard never notice.
import t from 'tap';
import { shardFor } from '../../lib/shard/hash.js';
import { UdpPeer } from '../helpers/child-proxy.js';
import { startTestProxy, testConfig } from '../helpers/proxy-harness.js';
import { answerCalls, callerRequest, header, oks } from '../helpers/raw-calls.js';
import { shardTotals } from '../helpers/shard-totals.js';

const CALLS = 20;

t.setTimeout(30_000);

t.test(`shard 0 crashes with ${CALLS} confirmed calls: all of them end with BYE`, async (t) => {
  const caller = await UdpPeer.open();
  const callee = await UdpPeer.open();
  t.teardown(() => { caller.close(); callee.close(); });
  // placement by hash: the calls must be on a worker's shard for its crash to matter
  const proxy = await startTestProxy({ workers: 2, shard: { ...testConfig().shard, placement: 'hash' }, routes: [{ prefix: '9', destination: `sip:127.0.0.1:${callee.port}`, strip: 1, prepend: '' }] });
  t.teardown(() => proxy.close());
  const pp = proxy.udpPort;
  const callIds: string[] = [];
  for (let i = 0; callIds.length < CALLS; i++) if (shardFor(`dlg-${i}@crash`, 2) === 0) callIds.push(`dlg-${i}@crash`);
  const other = Array.from({ length: 1000 }, (_, i) => `dlg-o${i}@crash`).find((c) => shardFor(c, 2) === 1)!;
  const all = [...callIds, other];

  // callee answers every INVITE 200 with a Contact that has no user part: only the dialog knows it
  answerCalls(callee, pp);
  const base = (method: string, uri: string, callId: string, cseq: number, toTag: boolean, extra: string[] = []): string => callerRequest(caller, method, uri, callId, cseq, toTag, extra);

  for (const c of all) caller.send(base('INVITE', `sip:9000@127.0.0.1:${pp}`, c, 1, false), pp);
  await caller.until((r) => oks(r, '1 INVITE').length === all.length);
  const recordRoute = header(oks(caller.received, '1 INVITE')[0]!, 'Record-Route')[0]!;
  for (const c of all) caller.send(base('ACK', `sip:127.0.0.1:${callee.port}`, c, 1, true, [`Route: ${recordRoute}`]), pp);

  let stats = await proxy.shardStats();
  t.equal(stats[0]!.dialogs.confirmed, CALLS, `shard 0 holds ${CALLS} confirmed dialogs`);
  t.equal(stats[1]!.dialogs.confirmed, 1, 'shard 1 holds one');

  const crashedAt = Date.now();
  proxy.pool.dispatch(0, { t: 'crash' });
  while (proxy.pool.restarts === 0 && Date.now() - crashedAt < 2000) await new Promise((r) => setTimeout(r, 10));
  stats = await proxy.shardStats();
  const replacedMs = Date.now() - crashedAt;
  t.equal(proxy.pool.restarts, 1, `shard 0 replaced and answering after ${replacedMs} ms`);
  t.ok(replacedMs < 1000, 'within a second');
  t.equal(stats[0]!.dialogs.confirmed, CALLS, 'the replacement restored every confirmed dialog');
  t.equal(stats[0]!.counters.dialogsRestored, CALLS, 'counted');
  t.equal(stats[1]!.counters.dialogsRestored, 0, 'shard 1 untouched');

  // half end with the Route header, half without (only the restored dialog can route those)
  all.forEach((c, i) => caller.send(base('BYE', `sip:127.0.0.1:${callee.port}`, c, 2, true, i % 2 === 0 ? [`Route: ${recordRoute}`] : []), pp));
  await caller.until((r) => r.filter((m) => m.includes('CSeq: 2 BYE')).length === all.length);
  t.equal(oks(caller.received, '2 BYE').length, all.length, 'every BYE reached the callee and its 200 came back');
  const totals = await shardTotals(proxy);
  t.equal(totals.confirmed, 0, 'no dialog left');
  t.equal(totals.internalErrors, 0);
});
