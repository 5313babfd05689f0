// INVITEs the main thread handed to a shard lately, by Call-ID hash, so that while shedding load a
// retransmitted INVITE (its 100 Trying late under load) still reaches the transaction that absorbs
// it instead of drawing a 503 that would end a call the callee is being rung for. Two generations
// of one window each: an entry lives between one and two windows. 30 bits of the Call-ID hash, not
// strings (small integers: no heap number per entry); a collision only lets one new INVITE through.
const SMALL = 0x3fffffff;

export class RecentInvites {
  private current = new Set<number>();
  private previous = new Set<number>();
  private since: number;

  constructor(private readonly windowMs: number, private readonly now: () => number = Date.now) {
    this.since = now();
  }

  add(hash: number): void {
    this.rotate();
    this.current.add(hash & SMALL);
  }

  has(hash: number): boolean {
    this.rotate();
    const h = hash & SMALL;
    return this.current.has(h) || this.previous.has(h);
  }

  private rotate(): void {
    const now = this.now();
    if (now - this.since < this.windowMs) return;
    // a window with nothing added leaves nothing worth keeping either
    this.previous = now - this.since < 2 * this.windowMs ? this.current : new Set();
    this.current = new Set();
    this.since = now;
  }
}
