// Resharding, the main thread's side, against a fake pool (no threads): hold and flush, imports
// into new owners, the pin map, the pin deadline, retiring shards, refusals with stable codes.
import t from 'tap';
import { isSipProxyError } from '../../lib/errors.js';
import { createLogger } from '../../lib/log.js';
import type { MovedDialog, ToShard } from '../../lib/shard/channel.js';
import { DialogCheckpoints, packDialog } from '../../lib/shard/dialog-checkpoint.js';
import { shardFor } from '../../lib/shard/hash.js';
import { callIdOfKey, Resizer, type ResizablePool } from '../../lib/shard/resizer.js';
import { dialogKey } from '../../lib/dialog/dialog-table.js';

class FakePool implements ResizablePool {
  size: number;
  /** 0: the one shard on the main thread (workers: 0) */
  inline = false;
  get workerThreads(): number { return this.inline ? 0 : this.size; }
  live = new Set<number>();
  retiring = new Set<number>();
  sent: Array<[number, ToShard]> = [];
  retired: number[] = [];
  constructor(n: number) {
    this.size = n;
    for (let i = 0; i < n; i++) this.live.add(i);
  }
  liveIds(): number[] { return [...this.live].sort((a, b) => a - b); }
  retiringIds(): number[] { return [...this.retiring]; }
  prepare(count: number): number[] {
    const out: number[] = [];
    for (let i = this.size; i < count; i++) if (!this.live.has(i)) { this.live.add(i); out.push(i); }
    return out;
  }
  resize(count: number): void {
    for (let i = this.size; i < count; i++) this.live.add(i);
    for (const i of this.live) if (i >= count) this.retiring.add(i);
    this.size = count;
  }
  retire(id: number): void { this.retired.push(id); this.live.delete(id); this.retiring.delete(id); }
  dispatch(id: number, item: ToShard): void { this.sent.push([id, item]); }
  take(kind: ToShard['t']): Array<[number, ToShard]> {
    const out = this.sent.filter(([, i]) => i.t === kind);
    this.sent = this.sent.filter(([, i]) => i.t !== kind);
    return out;
  }
}

function idFor(shard: number, count: number, prefix: string): string {
  for (let i = 0; ; i++) if (shardFor(`${prefix}-${i}`, count) === shard) return `${prefix}-${i}`;
}

function moved(callId: string): MovedDialog {
  const dest = { transport: 'udp' as const, address: '127.0.0.1', port: 5070 };
  const d = { callId, callerTag: 'a', calleeTag: 'b', state: 'confirmed' as const, callerContact: undefined, callerDest: dest, calleeContact: undefined, calleeDest: dest, createdAt: 1, confirmedAt: 2 };
  return [dialogKey(callId, 'a', 'b'), packDialog(d)];
}

function setup(n: number, pinDeadlineMs = 60_000, pinGraceMs = 5000) {
  const pool = new FakePool(n);
  const checkpoints = new DialogCheckpoints();
  const routed: string[] = [];
  const counts: number[] = [];
  const resizer = new Resizer<string>({
    pool, checkpoints, log: createLogger('silent'),
    countChanged: (c) => counts.push(c),
    route: (m) => routed.push(m),
    fromShard: (d) => Buffer.from(d).toString('latin1'),
    pinDeadlineMs: () => pinDeadlineMs,
    pinGraceMs,
    ready: async () => undefined,
    answerTimeoutMs: 200,
  });
  return { pool, checkpoints, routed, counts, resizer };
}

/** The stable code (and message) a call throws with, or undefined. */
function thrown(fn: () => void): { code: string; message: string } | undefined {
  try { fn(); } catch (e) { return isSipProxyError(e) ? { code: e.code, message: e.message } : { code: 'other', message: String(e) }; }
  return undefined;
}

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('callIdOfKey takes the Call-ID back out of a checkpoint key', async (t) => {
  t.equal(callIdOfKey(dialogKey('abc@host', 'x', 'y')), 'abc@host');
  t.equal(callIdOfKey(dialogKey('a|b@h', 'x', 'y')), 'a|b@h', 'even a Call-ID holding the separator');
});

t.test('growing 2 -> 4: messages held until every shard answered, moved dialogs imported into their new owners, pins routed to the old shard until released', async (t) => {
  const { pool, checkpoints, routed, counts, resizer } = setup(2);
  const toNew = idFor(3, 4, 'm');
  const pinnedId = idFor(2, 4, 'p');
  checkpoints.apply(shardFor(toNew, 2), dialogKey(toNew, 'a', 'b'), new Uint8Array([1]));
  const done = resizer.resize(4);
  await tick();
  t.equal(resizer.holding, true, 'holding while the shards answer');
  t.same(pool.take('reshard').map(([id, i]) => [id, (i as { count: number }).count]), [[0, 4], [1, 4], [2, 4], [3, 4]], 'the new shards (started first) are told too');
  for (const id of [2, 3]) resizer.onAnswer({ shardId: id, count: 4, moved: [], pinned: [] });
  resizer.hold('held-1');
  resizer.onAnswer({ shardId: shardFor(toNew, 2), count: 4, moved: [moved(toNew)], pinned: [] });
  await tick();
  t.same(routed, [], 'nothing routed before the last answer');
  t.same(counts, [], 'count not switched yet');
  resizer.onAnswer({ shardId: 1 - shardFor(toNew, 2), count: 4, moved: [], pinned: [pinnedId] });
  const report = await done;
  t.match(report, { from: 2, to: 4, dialogsMoved: 1, pinned: 1, held: 1, missing: [] });
  t.same(counts, [4]);
  t.same(routed, ['held-1'], 'held messages go on after the switch');
  const imports = pool.take('import');
  t.same(imports.map(([id]) => id), [3], 'imported into its new owner');
  t.same(checkpoints.forShard(3).length, 1, 'its checkpoint moved with it');
  t.same(checkpoints.forShard(shardFor(toNew, 2)).length, 0);
  t.equal(resizer.pinning, true);
  t.equal(resizer.pinOf(pinnedId), 1 - shardFor(toNew, 2), 'a pinned Call-ID goes to its old shard');
  t.equal(resizer.pinOf(toNew), undefined);

  t.match(thrown(() => resizer.check(3)), { code: 'SIP_ERR_RESIZE_BUSY', message: /1 call\(s\) still pinned/ }, 'no second resize while calls are pinned');
  resizer.onUnpin(1 - shardFor(toNew, 2), pinnedId, [moved(pinnedId)]);
  t.equal(resizer.pinning, false, 'unpinned: dispatch is one hash again');
  t.same(pool.take('import').map(([id]) => id), [2], 'the released dialog goes to its new owner');
  t.equal(resizer.stats.dialogsMoved, 2);
  t.doesNotThrow(() => resizer.check(3), 'settled: another resize may start');
  resizer.stop();
});

t.test('shrinking 3 -> 1: a removed shard with no pin stops at once, one with pins when they are released', async (t) => {
  const { pool, resizer } = setup(3);
  const p = idFor(0, 1, 'x');
  const done = resizer.resize(1);
  await tick();
  resizer.onAnswer({ shardId: 0, count: 1, moved: [], pinned: [] });
  resizer.onAnswer({ shardId: 1, count: 1, moved: [], pinned: [] });
  resizer.onAnswer({ shardId: 2, count: 1, moved: [moved(idFor(0, 1, 'y'))], pinned: [p] });
  const report = await done;
  t.match(report, { from: 3, to: 1, pinned: 1 });
  t.same(pool.retired, [1], 'shard 1 had nothing pinned: stopped');
  t.same(pool.retiringIds(), [2], 'shard 2 finishes its pinned call first');
  t.same(pool.take('import').map(([id]) => id), [0]);
  resizer.onRedispatch(2, Buffer.from(`BYE sip:x SIP/2.0\r\nCall-ID: ${p}\r\n\r\n`), { transport: 'udp', address: '127.0.0.1', port: 1 });
  t.equal(resizer.pinning, false, 'a message handed back unpins its Call-ID (never sent back there again)');
  t.same(pool.retired, [1, 2], 'then the retiring shard stops');
  resizer.stop();
});

t.test('the pin deadline asks the old shard to release what it still pins', async (t) => {
  const { pool, resizer } = setup(1, 50);
  const p = idFor(0, 2, 'd');
  const done = resizer.resize(2);
  await tick();
  resizer.onAnswer({ shardId: 0, count: 2, moved: [], pinned: [p] });
  resizer.onAnswer({ shardId: 1, count: 2, moved: [], pinned: [] });
  await done;
  await new Promise((r) => setTimeout(r, 120));
  const rel = pool.take('release');
  t.same(rel, [[0, { t: 'release', c: [p] }]]);
  t.equal(resizer.stats.pinsExpired, 1);
  resizer.onUnpin(0, p, []);
  t.equal(resizer.pinning, false);
  resizer.stop();
});

t.test('an old shard that never releases its pins loses them after the grace time; a retiring one then stops', async (t) => {
  const { pool, resizer } = setup(2, 30, 30);
  const p = idFor(0, 1, 'g');
  const done = resizer.resize(1);
  await tick();
  resizer.onAnswer({ shardId: 0, count: 1, moved: [], pinned: [] });
  resizer.onAnswer({ shardId: 1, count: 1, moved: [], pinned: [p] });
  await done;
  t.same(pool.retiringIds(), [1]);
  await new Promise((r) => setTimeout(r, 150));
  t.same(pool.take('release'), [[1, { t: 'release', c: [p] }]], 'asked to release at the deadline');
  t.equal(resizer.pinning, false, 'then routed to its new owner regardless');
  t.same(pool.retired, [1], 'and the retiring shard stopped');
  resizer.stop();
});

t.test('a shard that does not answer in time: the resize goes on, its late answer still applies', async (t) => {
  const { pool, resizer } = setup(2);
  const done = resizer.resize(3);
  await tick();
  resizer.onAnswer({ shardId: 0, count: 3, moved: [], pinned: [] });
  resizer.onAnswer({ shardId: 2, count: 3, moved: [], pinned: [] });
  const report = await done;
  t.same(report.missing, [1]);
  const late = idFor(2, 3, 'late');
  resizer.onAnswer({ shardId: 1, count: 3, moved: [moved(late)], pinned: [] });
  t.same(pool.take('import').map(([id]) => id), [2]);
  resizer.stop();
});

t.test('refusals carry stable codes: bad counts, a resize while one runs', async (t) => {
  const { resizer } = setup(2);
  t.match(thrown(() => resizer.check(0)), { code: 'SIP_ERR_RESIZE_COUNT', message: /workers: 2 -> 0: 0 \(the shard on the main thread\) is a setting for the start only/ }, 'count 0');
  for (const bad of [-1, 65, 1.5, Number.NaN]) {
    t.match(thrown(() => resizer.check(bad)), { code: 'SIP_ERR_RESIZE_COUNT', message: /allowed: an integer 1\.\.64/ }, `count ${bad}`);
  }
  const same = await resizer.resize(2);
  t.match(same, { from: 2, to: 2, dialogsMoved: 0 }, 'the same count is a no-op');
  const first = resizer.resize(3);
  await t.rejects(resizer.resize(4), { code: 'SIP_ERR_RESIZE_BUSY' });
  await tick();
  for (const id of [0, 1, 2]) resizer.onAnswer({ shardId: id, count: 3, moved: [], pinned: [] });
  await first;
  resizer.stop();
});

t.test('a shard on the main thread (workers: 0) is never resized: restart-only', async (t) => {
  const { pool, resizer } = setup(1);
  pool.inline = true;
  t.match(thrown(() => resizer.check(2)), { code: 'SIP_ERR_RESIZE_COUNT', message: /workers: 0 -> 2: .*restart the proxy/ });
  await t.rejects(resizer.resize(2), { code: 'SIP_ERR_RESIZE_COUNT' });
  t.same(pool.sent, [], 'no shard was asked anything');
  t.same(pool.liveIds(), [0]);
});

t.test('a retiring shard that dies: its pins go, its checkpointed dialogs go to their new owners', async (t) => {
  const { pool, checkpoints, resizer } = setup(2);
  const p = idFor(0, 1, 'r');
  const done = resizer.resize(1);
  await tick();
  resizer.onAnswer({ shardId: 0, count: 1, moved: [], pinned: [] });
  resizer.onAnswer({ shardId: 1, count: 1, moved: [], pinned: [p] });
  await done;
  checkpoints.apply(1, dialogKey(p, 'a', 'b'), moved(p)[1]);
  pool.live.delete(1);
  pool.retiring.delete(1);
  resizer.onRetiredLost(1);
  t.equal(resizer.pinning, false);
  t.same(pool.take('import').map(([id]) => id), [0]);
  t.equal(checkpoints.forShard(0).length, 1);
  resizer.stop();
});
