// Call-IDs kept on their old shard after a change of worker count (lib/shard/resizer.ts): the old
// shard of each, how many each shard holds (a retiring shard stops at zero), and the deadline after
// which the old shards are asked to release what they still hold.

export class PinTable {
  /** Call-ID -> old shard */
  private readonly pins = new Map<string, number>();
  private readonly perShard = new Map<number, number>();
  private timer: NodeJS.Timeout | undefined;

  get size(): number {
    return this.pins.size;
  }

  shardOf(callId: string): number | undefined {
    return this.pins.get(callId);
  }

  add(callId: string, shard: number): void {
    if (this.pins.has(callId)) return;
    this.pins.set(callId, shard);
    this.perShard.set(shard, (this.perShard.get(shard) ?? 0) + 1);
  }

  remove(callId: string): void {
    const shard = this.pins.get(callId);
    if (shard === undefined) return;
    this.pins.delete(callId);
    const n = (this.perShard.get(shard) ?? 1) - 1;
    if (n > 0) this.perShard.set(shard, n);
    else this.perShard.delete(shard);
  }

  /** Does any Call-ID stay pinned to `shard`? */
  holds(shard: number): boolean {
    return this.perShard.has(shard);
  }

  /** Every pinned Call-ID, grouped by old shard. */
  byShard(): Map<number, string[]> {
    const out = new Map<number, string[]>();
    for (const [callId, shard] of this.pins) {
      let list = out.get(shard);
      if (list === undefined) out.set(shard, (list = []));
      list.push(callId);
    }
    return out;
  }

  removeShard(shard: number): void {
    for (const c of this.byShard().get(shard) ?? []) this.remove(c);
  }

  clear(): void {
    this.pins.clear();
    this.perShard.clear();
  }

  /**
   * After `ms`: `expire` (ask the old shards to release); `graceMs` later, if pins are left,
   * `giveUp` (route them to their new owners regardless). Once armed, later calls do nothing.
   */
  arm(ms: number, graceMs: number, expire: () => void, giveUp: () => void): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      expire();
      this.timer = setTimeout(() => {
        this.timer = undefined;
        if (this.pins.size > 0) giveUp();
      }, graceMs);
      this.timer.unref();
    }, ms);
    this.timer.unref();
  }

  /** Stop the deadline; true when it was armed. */
  disarm(): boolean {
    if (this.timer === undefined) return false;
    clearTimeout(this.timer);
    this.timer = undefined;
    return true;
  }
}
