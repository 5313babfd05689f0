// Resharding, a shard's side, in-thread with a hand-moved clock: which Call-IDs leave at once with
// their dialogs, which stay pinned until their transactions end, and late messages handed back.
import t from 'tap';
import type { FromShard, MovedDialog, ReshardAnswer } from '../../lib/shard/channel.js';
import { shardFor } from '../../lib/shard/hash.js';
import { answer, CALLEE, CALLER, invite, ShardHarness } from '../helpers/shard-harness.js';

// 7xxx goes to the callee; 9999 has no route: only a dialog can route a BYE sent to it
const ROUTE = { routes: [{ prefix: '7', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] };
const T1 = 500;

/** A Call-ID that hashes to `shard` among `count` shards. */
function idFor(shard: number, count: number, prefix: string): string {
  for (let i = 0; ; i++) if (shardFor(`${prefix}-${i}`, count) === shard) return `${prefix}-${i}`;
}

/** INVITE, 200 with the callee's Contact: a confirmed dialog (its transactions still live). */
function call(h: ShardHarness, callId: string): void {
  h.receive(invite({ callId, branch: `z9hG4bK-${callId}`, uri: 'sip:7000@127.0.0.1:5060' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 200, 'OK', `tt-${callId}`, ['Contact: <sip:uas@127.0.0.1:5080>']), CALLEE);
  h.take();
}

/** A BYE from the caller sent to the proxy itself (a UA ignoring Record-Route): only the dialog routes it. */
function bye(callId: string, n = 1): string {
  return [
    'BYE sip:9999@127.0.0.1:5060 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye-${callId}-${n}`, 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', `To: <sip:7000@127.0.0.1:5060>;tag=tt-${callId}`, `Call-ID: ${callId}`, `CSeq: ${n + 1} BYE`, 'Content-Length: 0', '', '',
  ].join('\n');
}

function posted<K extends FromShard['t']>(h: ShardHarness, kind: K): Array<Extract<FromShard, { t: K }>> {
  return h.posted.filter((p): p is Extract<FromShard, { t: K }> => p.t === kind);
}

function reshard(h: ShardHarness, count: number): ReshardAnswer {
  h.posted = [];
  h.runtime.handleBatch([{ t: 'reshard', count }]);
  const a = posted(h, 'resharded');
  if (a.length !== 1) throw new Error('no resharded answer');
  return a[0]!.v;
}

t.test('growing 1 -> 2: a settled dialog leaves with its state; its new owner routes the BYE; a late message goes back', async (t) => {
  const old = new ShardHarness(ROUTE, { shardId: 0, shardCount: 1 });
  const next = new ShardHarness(ROUTE, { shardId: 1, shardCount: 2 });
  t.teardown(() => { old.close(); next.close(); });
  const moving = idFor(1, 2, 'mv');
  const staying = idFor(0, 2, 'st');
  call(old, moving);
  call(old, staying);
  old.advance(64 * T1 + 100); // Timer L / M: no transaction left
  t.equal(old.runtime.core.transactionCount, 0);

  const a = reshard(old, 2);
  t.same(a.pinned, [], 'nothing pinned: no live transaction');
  t.equal(a.moved.length, 1, 'only the dialog whose Call-ID hashes to the new shard moves');
  t.match(a.moved[0]![0], new RegExp(`^${moving}\\|`));
  t.equal(old.runtime.dialogs.stats().confirmed, 1, 'the staying dialog is still here');

  next.runtime.handleBatch([{ t: 'import', d: a.moved.map((m) => m[1]) }]);
  t.equal(next.runtime.dialogs.stats().confirmed, 1, 'imported');
  t.equal(next.runtime.stats.dialogsImported, 1);
  next.receive(bye(moving), CALLER);
  const fwd = next.take().find((s) => s.msg.method === 'BYE');
  t.equal(fwd?.msg.uri, 'sip:uas@127.0.0.1:5080', 'the new owner routes the BYE by the moved dialog');
  next.receive(answer(fwd!.msg, 200, 'OK'), CALLEE);
  t.equal(next.take().find((s) => !s.msg.isRequest)?.msg.status, 200, 'BYE answered 200');

  // a message the main thread had sent before the switch: handed back, never handled without state
  old.posted = [];
  old.receive(bye(moving, 2), CALLER);
  t.equal(old.take().length, 0, 'the old shard sends nothing');
  t.equal(posted(old, 'redispatch').length, 1, 'it goes back to the main thread');
  t.equal(old.runtime.stats.lateRedispatched, 1);
  old.receive(bye(staying), CALLER);
  t.equal(old.take().find((s) => s.msg.method === 'BYE')?.msg.uri, 'sip:uas@127.0.0.1:5080', 'a staying call is handled as before');
});

t.test('a Call-ID with live transactions stays pinned until the last one ends, then leaves with its dialog', async (t) => {
  const old = new ShardHarness(ROUTE, { shardId: 0, shardCount: 1 });
  t.teardown(() => old.close());
  const pinned = idFor(1, 2, 'pin');
  const ended = idFor(1, 2, 'end');
  call(old, pinned);
  call(old, ended);
  const a = reshard(old, 2);
  t.same(a.pinned.sort(), [ended, pinned].sort(), 'both are mid-transaction (Accepted state)');
  t.same(a.moved, []);
  t.equal(old.runtime.handover.pinnedCount, 2);

  // pinned: the main thread still sends its messages here, and they are handled with the dialog
  old.receive(bye(ended), CALLER);
  const fwd = old.take().find((s) => s.msg.method === 'BYE');
  t.ok(fwd, 'a BYE for a pinned call is routed by the old shard');
  old.receive(answer(fwd!.msg, 200, 'OK'), CALLEE);
  t.equal(old.take().find((s) => !s.msg.isRequest)?.msg.status, 200);
  t.same(posted(old, 'unpin'), [], 'not released while a transaction lives');

  old.advance(64 * T1 + 100);
  const unpins = posted(old, 'unpin');
  t.same(unpins.map((u) => u.c).sort(), [ended, pinned].sort(), 'each released when its last transaction ended');
  const withDialog = unpins.find((u) => u.c === pinned)!;
  t.equal(withDialog.d.length, 1, 'the live call leaves with its confirmed dialog');
  t.equal(unpins.find((u) => u.c === ended)!.d.length, 0, 'the ended call has none');
  t.equal(old.runtime.handover.pinnedCount, 0);
  t.equal(old.runtime.dialogs.stats().confirmed, 0);

  old.posted = [];
  old.receive(bye(pinned), CALLER);
  t.equal(posted(old, 'redispatch').length, 1, 'after the release its messages go back');
});

t.test('a Call-ID whose one transaction is Completed (kept off the heap for Timer J) stays pinned until it expires', async (t) => {
  const old = new ShardHarness(ROUTE, { shardId: 0, shardCount: 1 });
  t.teardown(() => old.close());
  const id = idFor(1, 2, 'opt');
  old.receive([
    'OPTIONS sip:127.0.0.1:5060 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${id}`, 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', 'To: <sip:127.0.0.1:5060>', `Call-ID: ${id}`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
  ].join('\n'), CALLER);
  t.same(old.take().map((s) => s.msg.status), [200]);
  t.equal(old.runtime.core.transactionCount, 1, 'counted while kept');
  const a = reshard(old, 2);
  t.same(a.pinned, [id]);
  old.advance(64 * T1 - 100);
  t.same(posted(old, 'unpin'), [], 'still pinned before Timer J');
  old.advance(200);
  t.same(posted(old, 'unpin').map((u) => u.c), [id], 'released when the kept transaction expired');
  t.equal(old.runtime.core.transactionCount, 0);
});

t.test('the deadline releases a pinned Call-ID at once, transaction or not', async (t) => {
  const old = new ShardHarness(ROUTE, { shardId: 0, shardCount: 1 });
  t.teardown(() => old.close());
  const ringing = idFor(1, 2, 'ring');
  old.receive(invite({ callId: ringing, branch: 'z9hG4bK-ring', uri: 'sip:7000@127.0.0.1:5060' }), CALLER);
  const fwd = old.take().find((s) => s.msg.isRequest)!;
  old.receive(answer(fwd.msg, 180, 'Ringing', 'tt-ring'), CALLEE);
  old.take();
  t.same(reshard(old, 2).pinned, [ringing]);
  old.posted = [];
  old.runtime.handleBatch([{ t: 'release', c: [ringing] }]);
  const u = posted(old, 'unpin');
  t.equal(u.length, 1);
  t.equal(u[0]!.c, ringing);
  t.same(u[0]!.d, [], 'an early dialog does not move');
  old.posted = [];
  old.receive(answer(fwd.msg, 200, 'OK', 'tt-ring'), CALLEE);
  t.equal(posted(old, 'redispatch').length, 1, 'the late 200 goes back to be relayed by the new owner');
});

t.test('shrinking 2 -> 1: a removed shard gives everything away', async (t) => {
  const removed = new ShardHarness(ROUTE, { shardId: 1, shardCount: 2 });
  t.teardown(() => removed.close());
  const ids = [idFor(1, 2, 'a'), idFor(1, 2, 'b')];
  for (const id of ids) call(removed, id);
  removed.advance(64 * T1 + 100);
  const a = reshard(removed, 1);
  t.same(a.moved.map((m: MovedDialog) => m[0].split('|')[0]).sort(), ids.sort());
  t.equal(removed.runtime.dialogs.stats().total, 0);
});

t.test('bad bytes never crash a shard: a broken import is ignored', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.runtime.handleBatch([{ t: 'import', d: [new Uint8Array([0xc1, 0xff, 0x00]), new Uint8Array(0)] }]);
  t.equal(h.runtime.dialogs.stats().total, 0);
  h.runtime.handleBatch([{ t: 'release', c: ['not-here'] }]);
  t.equal(posted(h, 'unpin').length, 1, 'a release of an unknown Call-ID answers with no dialog');
});

t.test('a Call-ID that left and comes back with a later change is handled here again, not handed back', async (t) => {
  const h = new ShardHarness(ROUTE, { shardId: 0, shardCount: 1 });
  t.teardown(() => h.close());
  const id = idFor(1, 2, 'back');
  call(h, id);
  h.advance(64 * T1 + 100);
  const out = reshard(h, 2);
  t.equal(out.moved.length, 1);
  // 2 -> 1: the other shard gives it back; this shard still remembers it left
  reshard(h, 1);
  h.runtime.handleBatch([{ t: 'import', d: out.moved.map((m) => m[1]) }]);
  h.posted = [];
  h.receive(bye(id), CALLER);
  t.same(posted(h, 'redispatch'), [], 'not handed back (that would loop)');
  t.equal(h.take().find((s) => s.msg.method === 'BYE')?.msg.uri, 'sip:uas@127.0.0.1:5080', 'routed by its dialog here');
});
