// Concurrent calls per trunk, counted across all shards in shared memory: each shard adds to its
// own slot (Atomics), a check sums the slots. Two shards admitting at the same instant can overshoot
// a limit by at most (shards - 1) calls. A replacement shard zeroes its slots: the calls of a dead
// shard are lost with it, and so is their count.
// Every trunk has a slot for each possible shard id (SHARD_SLOTS: the workers' and the main thread's
// shard), so the buffer is sized once and a change of worker count at run time (resharding) keeps
// every count where it is.
import { SHARD_SLOTS } from '../config/limits.js';

export class TrunkCalls {
  private readonly slots: Int32Array;

  /** `buffer` holds trunkCount * SHARD_SLOTS int32 slots (see bytesFor); a plain ArrayBuffer works in one thread. */
  constructor(buffer: SharedArrayBuffer | ArrayBuffer, private readonly shardId: number) {
    this.slots = new Int32Array(buffer);
    for (let i = shardId; i < this.slots.length; i += SHARD_SLOTS) Atomics.store(this.slots, i, 0);
  }

  static bytesFor(trunkCount: number): number {
    return Math.max(1, trunkCount * SHARD_SLOTS) * Int32Array.BYTES_PER_ELEMENT;
  }

  /** Calls on the trunk at `index`, all shards together. */
  total(index: number): number {
    let n = 0;
    const base = index * SHARD_SLOTS;
    for (let s = 0; s < SHARD_SLOTS; s++) n += Atomics.load(this.slots, base + s);
    return n;
  }

  /** Take a call slot unless `limit` (> 0) is reached. */
  tryAcquire(index: number, limit: number): boolean {
    if (limit > 0 && this.total(index) >= limit) return false;
    Atomics.add(this.slots, index * SHARD_SLOTS + this.shardId, 1);
    return true;
  }

  release(index: number): void {
    Atomics.sub(this.slots, index * SHARD_SLOTS + this.shardId, 1);
  }
}
