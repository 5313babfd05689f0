// Concurrent calls per trunk, counted across all shards in shared memory: each shard adds to its
// own slot (Atomics), a check sums the slots. Two shards admitting at the same instant can overshoot
// a limit by at most (shards - 1) calls. A replacement shard zeroes its slots: the calls of a dead
// shard are lost with it, and so is their count.

export class TrunkCalls {
  private readonly slots: Int32Array;

  /** `buffer` holds trunkCount * shardCount int32 slots (see bytesFor); a plain ArrayBuffer works in one thread. */
  constructor(buffer: SharedArrayBuffer | ArrayBuffer, private readonly shardCount: number, private readonly shardId: number) {
    this.slots = new Int32Array(buffer);
    for (let i = shardId; i < this.slots.length; i += shardCount) Atomics.store(this.slots, i, 0);
  }

  static bytesFor(trunkCount: number, shardCount: number): number {
    return Math.max(1, trunkCount * shardCount) * Int32Array.BYTES_PER_ELEMENT;
  }

  /** Calls on the trunk at `index`, all shards together. */
  total(index: number): number {
    let n = 0;
    const base = index * this.shardCount;
    for (let s = 0; s < this.shardCount; s++) n += Atomics.load(this.slots, base + s);
    return n;
  }

  /** Take a call slot unless `limit` (> 0) is reached. */
  tryAcquire(index: number, limit: number): boolean {
    if (limit > 0 && this.total(index) >= limit) return false;
    Atomics.add(this.slots, index * this.shardCount + this.shardId, 1);
    return true;
  }

  release(index: number): void {
    Atomics.sub(this.slots, index * this.shardCount + this.shardId, 1);
  }
}
