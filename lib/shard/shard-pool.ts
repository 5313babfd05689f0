// The main thread's side of the shards: a piscina pool running one long-lived task per thread,
// each streaming batches over its own MessagePort; per-turn batching, in-flight accounting,
// replacement of a shard whose thread dies, and the slots of a change of worker count (new shards
// launched; removed shards kept running, *retiring*, until their pinned calls have left). With
// `workers: 0` no pool: the one shard runs on the main thread behind the same outbox (inline-shard.ts).
// `mainShard`: a shard on the main thread beside the workers, id MAIN_SHARD_ID, which takes the new
// Call-IDs the main thread places there by load (call-placement.ts); Call-ID hashing and resharding
// see only the workers.
import { MessageChannel } from 'node:worker_threads';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Piscina } from 'piscina';
import { packageRoot } from '../config/load-config.js';
import type { Logger } from '../log.js';
import type { SendTarget } from '../transport/types.js';
import type { FromShardBatch, ShardInit, ToShard } from './channel.js';
import { ShardOutbox } from './shard-outbox.js';
import { InlineShard } from './inline-shard.js';
import { createError } from '../errors.js';
import { MAIN_SHARD_ID } from '../config/limits.js';

export interface ShardPoolOptions {
  /** worker threads, one shard each; 0: one shard on the main thread (inline-shard.ts) */
  workers: number;
  /** with workers > 0: a shard on the main thread too (MAIN_SHARD_ID), for Call-IDs placed by load */
  mainShard?: boolean;
  batchMax: number;
  /** posts a shard may have unanswered before SIP messages for it wait (shard-outbox.ts); 0: never wait */
  postsInFlight: number;
  /** longest wait of held messages, ms (default HOLD_LIMIT_MS; tests set it) */
  holdLimitMs?: number;
  init: (shardId: number) => ShardInit;
  onBatch: (shardId: number, batch: FromShardBatch) => void;
  /** a retiring shard's thread died: it is not replaced (its calls' checkpoints go to their new owners) */
  onRetiredLost?: (shardId: number) => void;
  log: Logger;
  /** V8 young generation of each shard thread in MB; 0 or absent: V8's default */
  youngGenerationMb?: number;
  /** compiled worker entry; defaults to dist/workers/shard.js */
  filename?: string;
}

interface ShardSlot {
  /** hands a batch to the shard: its MessagePort, or the inline shard */
  post: (items: ToShard[], transfer?: ArrayBuffer[]) => void;
  outbox: ShardOutbox;
  generation: number;
  /** its id is >= the worker count: it only finishes its pinned calls */
  retiring: boolean;
  /** its thread died; batches still queued on its port are ignored */
  dead: boolean;
}

/**
 * Longest wait of messages held for a busy shard (shard-outbox.ts): a shard that has not answered
 * within this (a long batch, a GC pause, a thread that died mid-batch) gets them anyway, to wait
 * in its port as they would without the hold.
 */
const HOLD_LIMIT_MS = 2;

/**
 * The compiled worker entry of the same build as this module (dist/lib/shard -> dist/workers), so a
 * second build beside the first (an A/B benchmark) runs its own shards; run from the TypeScript
 * sources (the tests), the package's dist/.
 */
export function shardWorkerFile(): string {
  return import.meta.url.endsWith('.ts') ? join(packageRoot(), 'dist', 'workers', 'shard.js') : fileURLToPath(new URL('../../workers/shard.js', import.meta.url));
}

export class ShardPool {
  /** absent with `workers: 0` (the shard runs on the main thread: no thread to start) */
  private readonly pool: Piscina | undefined;
  /** the shard on the main thread: with `workers: 0` the only one, with `mainShard` the one beside the workers */
  private inlineShard: InlineShard | undefined;
  /** `mainShard`: the slot of MAIN_SHARD_ID (not in `slots`: no resize reaches it) */
  private readonly main: ShardSlot | undefined;
  /** by shard id; ids >= count are retiring shards (or holes once stopped) */
  private readonly slots: Array<ShardSlot | undefined> = [];
  private count: number;
  private flushScheduled = false;
  /** one timer for every shard's held messages, re-armed with refresh() (no Timeout per hold) */
  private holdTimer: NodeJS.Timeout | undefined;
  private holdTimerPending = false;
  private closing = false;
  /** most messages one shard had unacknowledged since takeBacklogPeak() (overload-control.ts) */
  private backlogPeak = 0;
  restarts = 0;
  /** batches posted to shards, the SIP messages in them, and holds the time limit ended (shard-outbox.ts) */
  readonly handOver = { batches: 0, messages: 0, holdsExpired: 0 };

  constructor(private readonly opts: ShardPoolOptions) {
    this.count = Math.max(1, opts.workers);
    if (opts.workers === 0) {
      this.pool = undefined;
      this.main = undefined;
      this.slots.push(this.launchInline(0));
      return;
    }
    this.pool = new Piscina({
      filename: opts.filename ?? shardWorkerFile(),
      // one warm spare (modules loaded) takes over a dead shard at once instead of a cold thread start
      minThreads: opts.workers + 1,
      // kept equal to minThreads, and both moved by a change of worker count (threadsFor): with
      // room above the running tasks piscina spawns threads in a loop whenever it cannot hand a
      // queued task to a thread still starting (found starving the machine in the test suite)
      maxThreads: opts.workers + 1,
      // threads above minThreads (left by a shrink) go away once idle this long
      idleTimeout: 1000,
      concurrentTasksPerWorker: 1,
      // 'sync' atomics stall timers of idle workers (DESIGN.md): shards live on their event loop
      atomics: 'disabled',
      // held calls survive the young generation: V8 growing it to its maximum under load only adds RSS
      ...(opts.youngGenerationMb ? { resourceLimits: { maxYoungGenerationSizeMb: opts.youngGenerationMb } } : {}),
    });
    // only the shards of a start warm up first (shard.warmUpCalls): a replacement after a crash
    // and a resize's new shards answer at once
    for (let i = 0; i < opts.workers; i++) this.slots.push(this.launch(i, 0, true));
    // after the workers: their threads boot while this one warms up its shard
    this.main = opts.mainShard === true ? this.launchInline(MAIN_SHARD_ID) : undefined;
  }

  /** The shard count: Call-IDs hash into [0, size). */
  get size(): number {
    return this.count;
  }

  /** Worker threads running shards: the shard count, or 0 while the one shard runs on the main thread. */
  get workerThreads(): number {
    return this.pool === undefined ? 0 : this.count;
  }

  /** Batches the shard on the main thread failed on (0 with worker threads: a failing one is replaced, see restarts). */
  get inlineErrors(): number {
    return this.inlineShard?.errors ?? 0;
  }

  /** Ids of every shard there is to ask: the running worker shards (liveIds) and the main thread's shard beside them. */
  shardIds(): number[] {
    const ids = this.liveIds();
    if (this.main !== undefined) ids.push(MAIN_SHARD_ID);
    return ids;
  }

  /** `mainShard`: the main thread's shard holds state for this Call-ID (a live transaction or a dialog). */
  mainShardOwns(callId: string): boolean {
    return this.main !== undefined && this.inlineShard!.owns(callId);
  }

  get hasMainShard(): boolean {
    return this.main !== undefined;
  }

  /** Ids of every running worker shard, retiring ones included. */
  liveIds(): number[] {
    const out: number[] = [];
    for (let i = 0; i < this.slots.length; i++) if (this.slots[i] !== undefined) out.push(i);
    return out;
  }

  /** Ids of retiring shards still running (and shards prepared for a resize that did not happen). */
  retiringIds(): number[] {
    return this.liveIds().filter((i) => this.slots[i]!.retiring);
  }

  /** The most messages one shard had queued or in hand, unacknowledged, since the last call. */
  takeBacklogPeak(): number {
    let peak = this.backlogPeak;
    for (const s of this.allSlots()) if (s.outbox.inFlight > peak) peak = s.outbox.inFlight;
    this.backlogPeak = 0;
    return peak;
  }

  inFlight(shardId: number): number {
    return this.slotOf(shardId)?.outbox.inFlight ?? 0;
  }

  private slotOf(shardId: number): ShardSlot | undefined {
    return shardId === MAIN_SHARD_ID ? this.main : this.slots[shardId];
  }

  /** Every running slot, the main thread's shard beside the workers included. */
  private allSlots(): ShardSlot[] {
    const out: ShardSlot[] = [];
    for (const s of this.slots) if (s !== undefined) out.push(s);
    if (this.main !== undefined) out.push(this.main);
    return out;
  }

  private launch(shardId: number, generation: number, warmUp = false): ShardSlot {
    const { port1, port2 } = new MessageChannel();
    const handOver = this.handOver;
    const outbox = new ShardOutbox((items, transfer, messages) => {
      handOver.batches++;
      handOver.messages += messages;
      port1.postMessage(items, transfer);
    }, this.opts.batchMax, this.opts.postsInFlight);
    const slot: ShardSlot = { post: (items, transfer) => port1.postMessage(items, transfer ?? []), outbox, generation, retiring: false, dead: false };
    port1.on('message', (batch: FromShardBatch) => {
      if (slot.dead) return;
      this.opts.onBatch(shardId, batch);
      // after the answer's own items: what they queued for this shard goes in the same post
      outbox.acked(batch.n);
    });
    this.threadPool().run({ port: port2, init: this.opts.init(shardId), warmUp }, { transferList: [port2] }).then(
      () => undefined,
      (err: unknown) => {
        slot.dead = true;
        port1.close();
        if (this.closing || this.slots[shardId] !== slot) return;
        if (slot.retiring) {
          this.opts.log.error({ err, shard: shardId }, 'retiring shard thread died; its calls go to their new owners');
          this.slots[shardId] = undefined;
          this.trim();
          this.threadsFor(this.liveIds().length);
          this.opts.onRetiredLost?.(shardId);
          return;
        }
        this.restarts++;
        this.opts.log.error({ err, shard: shardId }, 'shard thread died; starting a replacement');
        // its in-flight transactions are lost; every other shard goes on untouched
        this.slots[shardId] = this.launch(shardId, generation + 1);
      },
    );
    return slot;
  }

  /** A shard on this thread (`workers: 0`: shard 0; `mainShard`: MAIN_SHARD_ID), warmed up as a start's shards are. */
  private launchInline(shardId: number): ShardSlot {
    const handOver = this.handOver;
    let slot: ShardSlot | undefined;
    const shard = new InlineShard(this.opts.init(shardId), true, (batch) => {
      this.opts.onBatch(shardId, batch);
      slot!.outbox.acked(batch.n);
    });
    const outbox = new ShardOutbox((items, _transfer, messages) => {
      handOver.batches++;
      handOver.messages += messages;
      shard.post(items);
    }, this.opts.batchMax, this.opts.postsInFlight);
    this.inlineShard = shard;
    slot = { post: (items) => shard.post(items), outbox, generation: 0, retiring: false, dead: false };
    return slot;
  }

  /** The thread pool; throws while the shard runs on the main thread (`workers: 0` is restart-only). */
  private threadPool(): Piscina {
    if (this.pool === undefined) throw createError('SIP_ERR_RESIZE_COUNT', 'workers: 0 (the shard on the main thread) cannot change while running; restart with the new count');
    return this.pool;
  }

  /**
   * Start shards [size, count) ahead of a resize, so their threads boot while the old count still
   * routes everything (they get no traffic yet, and own no peer: their init has the old count).
   * Returns the ids started.
   */
  prepare(count: number): number[] {
    this.threadPool();
    const ids: number[] = [];
    for (let i = this.count; i < count; i++) if (this.slots[i] === undefined) ids.push(i);
    this.threadsFor(this.liveIds().length + ids.length);
    for (const i of ids) this.slots[i] = this.launch(i, 0);
    return ids;
  }

  /**
   * Route Call-IDs into `count` shards from now on: shards [size, count) start (their init reads the
   * new count), shards [count, size) keep running as retiring until retire(id). The caller has
   * told every shard the new count first (lib/shard/resizer.ts).
   */
  resize(count: number): void {
    this.threadPool();
    const before = this.count;
    this.count = count;
    const missing: number[] = [];
    for (let i = before; i < count; i++) {
      const s = this.slots[i];
      if (s !== undefined) s.retiring = false; // prepared, or retiring (not while resizes wait for those)
      else missing.push(i);
    }
    for (let i = count; i < this.slots.length; i++) {
      const s = this.slots[i];
      if (s !== undefined) s.retiring = true;
    }
    this.threadsFor(this.liveIds().length + missing.length);
    for (const i of missing) this.slots[i] = this.launch(i, 0);
    this.keepSpare();
  }

  /** One thread per running shard plus the warm spare; piscina reads its options object live. */
  private threadsFor(shards: number): void {
    const pool = this.threadPool();
    pool.options.minThreads = shards + 1;
    pool.options.maxThreads = shards + 1;
  }

  /** After a grow the spare may be missing: a task that ends at once makes piscina start it. */
  private keepSpare(): void {
    const pool = this.threadPool();
    const missing = this.liveIds().length + 1 - pool.threads.length;
    for (let i = 0; i < missing; i++) pool.run({ warm: true }).catch(() => undefined);
  }

  /** Stop a retiring shard (it has no pinned call left). */
  retire(shardId: number): void {
    const slot = this.slots[shardId];
    if (slot === undefined || !slot.retiring) return;
    slot.outbox.flush();
    slot.post([{ t: 'stop' }]);
    this.slots[shardId] = undefined;
    this.trim();
    this.threadsFor(this.liveIds().length); // its thread, idle once stopped, is reaped
  }

  private trim(): void {
    while (this.slots.length > this.count && this.slots[this.slots.length - 1] === undefined) this.slots.pop();
  }

  /** Queue for the shard; sent with others at the end of this event-loop turn. */
  dispatch(shardId: number, item: ToShard): void {
    if (item.t === 'sip') return this.dispatchSip(shardId, item.d, item.s);
    const slot = this.slotOf(shardId);
    if (slot === undefined) return; // a retiring shard already stopped: nothing of it is left to ask
    this.queued(slot, slot.outbox.addControl(item));
  }

  /**
   * Queue a SIP message for the shard. `source` should be one object per peer (SourceTargets): a
   * batch carries each distinct target once.
   */
  dispatchSip(shardId: number, data: Uint8Array, source: SendTarget): void {
    const slot = this.slotOf(shardId);
    if (slot === undefined) return;
    const full = slot.outbox.addSip(data, source);
    if (slot.outbox.inFlight > this.backlogPeak) this.backlogPeak = slot.outbox.inFlight;
    this.queued(slot, full);
  }

  private queued(slot: ShardSlot, full: boolean): void {
    if (full) slot.outbox.flush();
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(this.endOfTurn);
    }
  }

  broadcast(item: ToShard, except = -1): void {
    for (const i of this.shardIds()) if (i !== except) this.dispatch(i, item);
  }

  private readonly endOfTurn = (): void => {
    this.flushScheduled = false;
    let held = false;
    for (const slot of this.allSlots()) if (slot.outbox.endOfTurn()) held = true;
    if (held && !this.holdTimerPending) {
      this.holdTimerPending = true;
      if (this.holdTimer === undefined) this.holdTimer = setTimeout(this.holdExpired, this.opts.holdLimitMs ?? HOLD_LIMIT_MS).unref();
      else this.holdTimer.refresh();
    }
  };

  /** Held messages older than HOLD_LIMIT_MS (or about: the timer is armed once per held stretch) go now. */
  private readonly holdExpired = (): void => {
    this.holdTimerPending = false;
    for (const slot of this.allSlots()) {
      if (slot.outbox.waiting === 0) continue;
      this.handOver.holdsExpired++;
      slot.outbox.flush();
    }
  };

  async close(): Promise<void> {
    this.closing = true;
    clearTimeout(this.holdTimer);
    for (const slot of this.allSlots()) slot.post([{ t: 'stop' }]);
    if (this.pool === undefined) return;
    await this.pool.close({ force: false }).catch(() => undefined);
    await this.pool.destroy().catch(() => undefined);
  }
}
