// Request/reply over the shard channel for the main thread (stats, dialog pages, config swaps): an
// id per question, one answer per shard asked, and a deadline so a shard that died mid-question
// (and was replaced) cannot leave the caller waiting forever.
import { createError } from '../errors.js';
import type { ToShard } from './channel.js';

interface Pending {
  left: number;
  answers: unknown[];
  resolve: (answers: unknown[]) => void;
  reject: (err: Error) => void;
  timer: NodeJS.Timeout;
}

export interface ShardDispatcher {
  /** every running shard (retiring ones of a change of worker count too) */
  liveIds(): number[];
  dispatch(shardId: number, item: ToShard): void;
}

export class ShardRequests {
  private readonly pending = new Map<number, Pending>();
  private seq = 0;

  constructor(private readonly pool: ShardDispatcher, private readonly timeoutMs = 10_000) {}

  /** Asks each shard in `shards` (default: all running) the question `make(id)`; answers in arrival order. */
  ask<T>(make: (id: number) => ToShard, shards?: readonly number[]): Promise<T[]> {
    const targets = shards ?? this.pool.liveIds();
    if (targets.length === 0) return Promise.resolve([]);
    const id = ++this.seq;
    return new Promise<T[]>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(createError('SIP_ERR_SHARD', `not every shard answered within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      timer.unref();
      this.pending.set(id, { left: targets.length, answers: [], resolve: resolve as (a: unknown[]) => void, reject, timer });
      const item = make(id);
      for (const shard of targets) this.pool.dispatch(shard, item);
    });
  }

  /** An answer from a shard; unknown ids (timed out) are ignored. */
  answer(id: number, value: unknown): void {
    const p = this.pending.get(id);
    if (p === undefined) return;
    p.answers.push(value);
    if (--p.left > 0) return;
    this.pending.delete(id);
    clearTimeout(p.timer);
    p.resolve(p.answers);
  }
}
