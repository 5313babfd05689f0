// The main thread's side of the shards: a piscina pool running one long-lived task per thread,
// each streaming batches over its own MessagePort; per-turn batching, in-flight accounting, and
// replacement of a shard whose thread dies.
import { MessageChannel, type MessagePort } from 'node:worker_threads';
import { join } from 'node:path';
import { Piscina } from 'piscina';
import { packageRoot } from '../config/load-config.js';
import type { Logger } from '../log.js';
import type { FromShardBatch, ShardInit, ToShard } from './channel.js';

export interface ShardPoolOptions {
  workers: number;
  batchMax: number;
  init: (shardId: number) => ShardInit;
  onBatch: (shardId: number, batch: FromShardBatch) => void;
  log: Logger;
  /** V8 young generation of each shard thread in MB; 0 or absent: V8's default */
  youngGenerationMb?: number;
  /** compiled worker entry; defaults to dist/workers/shard.js */
  filename?: string;
}

interface ShardSlot {
  port: MessagePort;
  queue: ToShard[];
  inFlight: number;
  generation: number;
}

export class ShardPool {
  private readonly pool: Piscina;
  private readonly slots: ShardSlot[] = [];
  private flushScheduled = false;
  private closing = false;
  restarts = 0;

  constructor(private readonly opts: ShardPoolOptions) {
    this.pool = new Piscina({
      filename: opts.filename ?? join(packageRoot(), 'dist', 'workers', 'shard.js'),
      // one warm spare (modules loaded) takes over a dead shard at once instead of a cold thread start
      minThreads: opts.workers + 1,
      maxThreads: opts.workers + 1,
      idleTimeout: Number.MAX_SAFE_INTEGER,
      concurrentTasksPerWorker: 1,
      // 'sync' atomics stall timers of idle workers (DESIGN.md): shards live on their event loop
      atomics: 'disabled',
      // held calls survive the young generation: V8 growing it to its maximum under load only adds RSS
      ...(opts.youngGenerationMb ? { resourceLimits: { maxYoungGenerationSizeMb: opts.youngGenerationMb } } : {}),
    });
    for (let i = 0; i < opts.workers; i++) this.slots.push(this.launch(i, 0));
  }

  get size(): number {
    return this.slots.length;
  }

  inFlight(shardId: number): number {
    return this.slots[shardId]!.inFlight;
  }

  private launch(shardId: number, generation: number): ShardSlot {
    const { port1, port2 } = new MessageChannel();
    const slot: ShardSlot = { port: port1, queue: [], inFlight: 0, generation };
    port1.on('message', (batch: FromShardBatch) => {
      if (this.slots[shardId] !== slot) return;
      slot.inFlight -= batch.n;
      if (slot.inFlight < 0) slot.inFlight = 0;
      this.opts.onBatch(shardId, batch);
    });
    this.pool.run({ port: port2, init: this.opts.init(shardId) }, { transferList: [port2] }).then(
      () => undefined,
      (err: unknown) => {
        port1.close();
        if (this.closing) return;
        this.restarts++;
        this.opts.log.error({ err, shard: shardId }, 'shard thread died; starting a replacement');
        // its in-flight transactions are lost; every other shard goes on untouched
        this.slots[shardId] = this.launch(shardId, generation + 1);
      },
    );
    return slot;
  }

  /** Queue for the shard; sent with others at the end of this event-loop turn. */
  dispatch(shardId: number, item: ToShard): void {
    const slot = this.slots[shardId]!;
    slot.queue.push(item);
    if (item.t === 'sip') slot.inFlight++;
    if (slot.queue.length >= this.opts.batchMax) this.flushSlot(slot);
    else if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  broadcast(item: ToShard, except = -1): void {
    for (let i = 0; i < this.slots.length; i++) if (i !== except) this.dispatch(i, item);
  }

  private flush(): void {
    this.flushScheduled = false;
    for (const slot of this.slots) this.flushSlot(slot);
  }

  private flushSlot(slot: ShardSlot): void {
    if (slot.queue.length === 0) return;
    const q = slot.queue;
    slot.queue = [];
    slot.port.postMessage(q);
  }

  async close(): Promise<void> {
    this.closing = true;
    for (const slot of this.slots) {
      slot.port.postMessage([{ t: 'stop' }]);
    }
    await this.pool.close({ force: false }).catch(() => undefined);
    await this.pool.destroy().catch(() => undefined);
  }
}
