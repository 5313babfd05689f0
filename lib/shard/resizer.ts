// Resharding, the main thread's side: change the worker count N -> M while traffic flows.
//
// 1. Hold new inbound messages (a bounded queue, for one round trip to the shards: milliseconds).
// 2. Tell every running shard `reshard to M`. Each answers with the packed confirmed dialogs of the
//    Call-IDs that now hash elsewhere and had no live transaction (dropped there), and the Call-IDs
//    it keeps for now because transactions are live (pinned) (lib/shard/handover.ts).
// 3. Switch the count (new shards start; removed ones keep running as retiring), import the moved
//    dialogs into their new owners (queued on their ports before any later message), record the
//    pins (Call-ID -> old shard), then let the held messages go.
// 4. Dispatch consults the pins only while there are any: the hot path stays one hash otherwise.
//    When a pinned Call-ID's last transaction ends, its old shard releases it with its dialogs:
//    unpinned here, imported into the new owner. Pins have a deadline (64*T1 + margin) after which
//    the old shard is asked to release them regardless. A retiring shard stops once no pin points
//    at it. Messages that still reach an old shard for a Call-ID it gave away come back here
//    ('redispatch') and are routed again.
// One resize at a time: another is refused (SIP_ERR_RESIZE_BUSY) until the last one has settled.
import { MAX_WORKERS } from '../config/limits.js';
import { createError } from '../errors.js';
import type { Logger } from '../log.js';
import { peekCallId } from './callid-peek.js';
import type { MovedDialog, ReshardAnswer, ToShard } from './channel.js';
import type { DialogCheckpoints } from './dialog-checkpoint.js';
import { shardFor } from './hash.js';
import { PinTable } from './pin-table.js';
import type { SendTarget } from '../transport/types.js';

export interface ResizablePool {
  readonly size: number;
  /** 0 while the one shard runs on the main thread (`workers: 0`): no resize then */
  readonly workerThreads: number;
  liveIds(): number[];
  retiringIds(): number[];
  prepare(count: number): number[];
  resize(count: number): void;
  retire(shardId: number): void;
  dispatch(shardId: number, item: ToShard): void;
}

export interface ResizerDeps<M> {
  pool: ResizablePool;
  checkpoints: DialogCheckpoints;
  log: Logger;
  /** the count every later shard init (and per-shard figures) must use; called before the switch */
  countChanged(count: number): void;
  /** route a held or handed-back message (through the same path as a new one) */
  route(msg: M): void;
  /** a message handed back by a shard, as the main thread's inbound type */
  fromShard(d: Uint8Array, s: SendTarget): M;
  /** how long a Call-ID may stay pinned to its old shard (64*T1 + margin), ms */
  pinDeadlineMs(): number;
  /** resolves once the shards `ids` answer (their threads are up) */
  ready(ids: number[]): Promise<unknown>;
  /** after the pin deadline, how long old shards have to release before their pins are dropped (5 s) */
  pinGraceMs?: number;
  /** how long to wait for every shard's answer while holding messages */
  answerTimeoutMs?: number;
  /** bound of the hold queue; beyond it new messages are dropped and counted (UDP peers retransmit) */
  maxHeld?: number;
}

export interface ResizeReport {
  from: number;
  to: number;
  /** confirmed dialogs moved at the switch (more follow as pinned Call-IDs are released) */
  dialogsMoved: number;
  /** Call-IDs left on their old shard until their transactions end */
  pinned: number;
  /** messages held during the switch */
  held: number;
  /** time new messages were held, ms */
  holdMs: number;
  /** whole change, new threads' start included, ms */
  ms: number;
  /** shards that did not answer in time (their Call-IDs move without state) */
  missing: number[];
}

export interface ResizeStats {
  resizes: number;
  dialogsMoved: number;
  pinned: number;
  heldDropped: number;
  redispatched: number;
  pinsExpired: number;
  /** the report of the last change */
  last: ResizeReport | null;
}

/** The Call-ID of a checkpoint key (dialogKey: `callId|tag|tag`; tags are tokens, never `|`). */
export function callIdOfKey(key: string): string {
  const last = key.lastIndexOf('|');
  return key.slice(0, key.lastIndexOf('|', last - 1));
}

export class Resizer<M> {
  /** read on every inbound message: hold it instead of dispatching */
  holding = false;
  private held: M[] = [];
  private readonly pins = new PinTable();
  private running = false;
  private waiting: Set<number> | undefined;
  private answered: (() => void) | undefined;
  private early: ReshardAnswer[] = [];
  private movedThisResize = 0;
  private startedAt = 0;
  readonly stats: ResizeStats = { resizes: 0, dialogsMoved: 0, pinned: 0, heldDropped: 0, redispatched: 0, pinsExpired: 0, last: null };

  constructor(private readonly deps: ResizerDeps<M>) {}

  /** True while some Call-ID is pinned: only then does dispatch look a Call-ID up. */
  get pinning(): boolean {
    return this.pins.size > 0;
  }

  /** The old shard of a pinned Call-ID. */
  pinOf(callId: string): number | undefined {
    return this.pins.shardOf(callId);
  }

  hold(msg: M): void {
    if (this.held.length >= (this.deps.maxHeld ?? 10_000)) { this.stats.heldDropped++; return; }
    this.held.push(msg);
  }

  /** Throws SIP_ERR_RESIZE_COUNT or SIP_ERR_RESIZE_BUSY when a resize to `count` cannot start now. */
  check(count: number): void {
    if (count === 0 || this.deps.pool.workerThreads === 0) {
      throw createError('SIP_ERR_RESIZE_COUNT', `workers: ${this.deps.pool.workerThreads} -> ${JSON.stringify(count)}: 0 (the shard on the main thread) is a setting for the start only; restart the proxy to change to or from it`);
    }
    if (!Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
      throw createError('SIP_ERR_RESIZE_COUNT', `workers: got ${JSON.stringify(count)}, allowed: an integer 1..${MAX_WORKERS} (or 'auto' in the config)`);
    }
    if (this.running) throw createError('SIP_ERR_RESIZE_BUSY', 'a change of worker count is running; try again when it has finished');
    const retiring = this.deps.pool.retiringIds().length;
    if (this.pins.size > 0 || retiring > 0) {
      throw createError('SIP_ERR_RESIZE_BUSY', `the last change of worker count is settling: ${this.pins.size} call(s) still pinned to their old shard, ${retiring} shard(s) retiring; try again within ${Math.ceil(this.deps.pinDeadlineMs() / 1000)} s`);
    }
  }

  async resize(count: number): Promise<ResizeReport> {
    this.check(count);
    const { pool, log } = this.deps;
    const from = pool.size;
    if (count === from) return { from, to: count, dialogsMoved: 0, pinned: 0, held: 0, holdMs: 0, ms: 0, missing: [] };
    this.running = true;
    this.startedAt = Date.now();
    this.movedThisResize = 0;
    let missing: number[] = [];
    let held = 0;
    let holdStart = 0;
    try {
      // new threads boot before anything is held: a cold start takes far longer than the switch
      const started = pool.prepare(count);
      if (started.length > 0) {
        try {
          await this.deps.ready(started);
        } catch (err) {
          pool.resize(from); // the prepared shards retire (nothing routes to them) and stop
          throw err;
        }
      }
      holdStart = Date.now();
      this.holding = true;
      const asked = pool.liveIds();
      this.waiting = new Set(asked);
      const all = new Promise<void>((resolve) => { this.answered = resolve; });
      for (const id of asked) pool.dispatch(id, { t: 'reshard', count });
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => { timer = setTimeout(resolve, this.deps.answerTimeoutMs ?? 2000); });
      await Promise.race([all, timeout]);
      clearTimeout(timer);
      missing = [...this.waiting];
      // late answers (a shard that was slow or replaced) are applied when they come
      this.waiting = undefined;
      this.deps.countChanged(count);
      pool.resize(count);
      for (const a of this.early) this.apply(a);
      this.early = [];
      if (missing.length > 0) log.warn({ missing, to: count }, 'shards did not answer the change of worker count in time: their moving calls continue without state');
    } finally {
      this.holding = false;
      const queue = this.held;
      this.held = [];
      held = queue.length;
      for (const m of queue) this.deps.route(m);
      this.running = false;
      this.retireIdle();
    }
    const holdMs = Date.now() - holdStart;
    this.stats.resizes++;
    const report: ResizeReport = { from, to: count, dialogsMoved: this.movedThisResize, pinned: this.pins.size, held, holdMs, ms: Date.now() - this.startedAt, missing };
    this.stats.last = report;
    log.info(report, `workers resized ${from} -> ${count}`);
    if (this.pins.size > 0) this.armDeadline();
    return report;
  }

  /** A shard's answer to `reshard`. */
  onAnswer(a: ReshardAnswer): void {
    if (this.waiting !== undefined) {
      this.early.push(a);
      this.waiting.delete(a.shardId);
      if (this.waiting.size === 0) this.answered?.();
      return;
    }
    this.apply(a);
    if (this.pins.size > 0) this.armDeadline();
  }

  private apply(a: ReshardAnswer): void {
    this.importMoved(a.shardId, a.moved);
    for (const c of a.pinned) this.pins.add(c, a.shardId);
    this.stats.pinned = this.pins.size;
  }

  private unpin(callId: string): void {
    this.pins.remove(callId);
    this.stats.pinned = this.pins.size;
  }

  /** Dialogs leaving `fromShard`: checkpoints follow them, their new owners import them. */
  private importMoved(fromShard: number, moved: readonly MovedDialog[]): void {
    if (moved.length === 0) return;
    const byOwner = new Map<number, Uint8Array[]>();
    const count = this.deps.pool.size;
    for (const [key, bytes] of moved) {
      const owner = shardFor(callIdOfKey(key), count);
      this.deps.checkpoints.apply(fromShard, key, null);
      this.deps.checkpoints.apply(owner, key, bytes);
      let list = byOwner.get(owner);
      if (list === undefined) byOwner.set(owner, (list = []));
      list.push(bytes);
    }
    for (const [owner, d] of byOwner) this.deps.pool.dispatch(owner, { t: 'import', d });
    this.stats.dialogsMoved += moved.length;
    this.movedThisResize += moved.length;
  }

  /** A pinned Call-ID left its old shard. */
  onUnpin(shardId: number, callId: string, dialogs: readonly MovedDialog[]): void {
    if (this.pins.shardOf(callId) === shardId) this.unpin(callId);
    this.importMoved(shardId, dialogs);
    this.settleIfDone();
  }

  /** A message an old shard gave back: its Call-ID is no longer there. */
  onRedispatch(shardId: number, d: Uint8Array, s: SendTarget): void {
    this.stats.redispatched++;
    const callId = peekCallId(Buffer.from(d.buffer, d.byteOffset, d.byteLength));
    // the shard says the Call-ID left: never send it there again (no ping-pong)
    if (callId !== undefined && this.pins.shardOf(callId) === shardId) { this.unpin(callId); this.settleIfDone(); }
    this.deps.route(this.deps.fromShard(d, s));
  }

  /** A retiring shard's thread died: its pinned calls go to their new owners from its checkpoints. */
  onRetiredLost(shardId: number): void {
    this.pins.removeShard(shardId);
    this.stats.pinned = this.pins.size;
    this.importMoved(shardId, this.deps.checkpoints.take(shardId));
    this.settleIfDone();
  }

  private settleIfDone(): void {
    this.retireIdle();
    if (this.pins.size > 0 || this.running) return;
    if (this.pins.disarm()) {
      this.deps.log.info({ ms: Date.now() - this.startedAt, to: this.deps.pool.size }, 'change of worker count settled: no call pinned to an old shard');
    }
  }

  /** Stop retiring shards no pin points at. */
  private retireIdle(): void {
    if (this.running) return;
    for (const id of this.deps.pool.retiringIds()) if (!this.pins.holds(id)) this.deps.pool.retire(id);
  }

  /** At the deadline, old shards release what they still pin; a shard that does not answer loses its pins. */
  private armDeadline(): void {
    const { log, pool } = this.deps;
    this.pins.arm(this.deps.pinDeadlineMs(), this.deps.pinGraceMs ?? 5000, () => {
      this.stats.pinsExpired += this.pins.size;
      log.warn({ pinned: this.pins.size }, 'pinned calls past their deadline: released from their old shard');
      for (const [shard, c] of this.pins.byShard()) pool.dispatch(shard, { t: 'release', c });
    }, () => {
      log.warn({ pinned: this.pins.size }, 'old shards did not release pinned calls: routing them to their new owners');
      this.pins.clear();
      this.stats.pinned = 0;
      this.retireIdle();
    });
  }

  stop(): void {
    this.pins.disarm();
  }
}
