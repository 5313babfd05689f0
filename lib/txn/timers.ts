// A coarse timer wheel for transaction timers (undici's lib/util/timers.js idea): thousands of
// SIP timers share one native interval instead of one setTimeout each. The clock is injectable so
// tests drive time by hand.

export interface Clock { now(): number }
export const systemClock: Clock = { now: () => Date.now() };

// No tick on a timer (its bucket has it): a tick number passes 2^31 and would be a 16-byte heap
// number per timer, two of which a settled call holds for 32 s.
export interface Timer { cancelled: boolean; fn: (arg: unknown) => void; arg: unknown }

/** A scheduled timer as the wheel keeps it: where it sits, so cancel() is a store, not a search. */
interface Slot extends Timer { bucket: Bucket | undefined; index: number }

/** The timers of one tick in the order they were scheduled; a cancelled one leaves a hole. */
interface Bucket { readonly tick: number; readonly timers: Array<Slot | undefined>; live: number; firing: boolean }

// Ticks within this many of the last one fired sit in a ring indexed by tick (an array load, no
// hashing of a tick number too large to be a small integer); later ones (a line's re-registration,
// keep-alives) in a Map. 32,768 ticks of 10 ms: 327 s, past Timer C's default of 181 s.
const RING = 32_768;
const RING_MASK = RING - 1;

export class TimerWheel {
  // Per tick an array, not a Set: a schedule is a push, a cancel a store of a hole (the cancelled
  // timer itself is released at once: no Set entry to delete, nothing kept until its tick comes),
  // and a bucket whose timers are all cancelled is dropped.
  private readonly ring: Array<Bucket | undefined> = new Array<Bucket | undefined>(RING).fill(undefined);
  private readonly far = new Map<number, Bucket>();
  private lastTick: number;
  private pending = 0;
  private interval: NodeJS.Timeout | undefined;
  /**
   * Told of a timer that threw, after which the others due go on firing. Unset (a worker's shard),
   * the error escapes and ends the thread, which is replaced; a shard on the main thread sets it,
   * since there the thread is the whole proxy.
   */
  onError: ((err: unknown) => void) | undefined;

  /** `autoTick: false` for tests: time moves only through advance(). */
  constructor(readonly clock: Clock = systemClock, readonly tickMs = 10, private readonly autoTick = true) {
    this.lastTick = Math.floor(clock.now() / tickMs);
  }

  /**
   * Run fn after at least delayMs (rounded up to the tick). With `arg`, fn(arg): a transaction's
   * timers pass one shared function and the transaction instead of a closure each (a held call
   * keeps two timers for 32 s; a closure and its context cost ~100 B each).
   */
  schedule(delayMs: number, fn: () => void): Timer;
  schedule<T>(delayMs: number, fn: (arg: T) => void, arg: T): Timer;
  schedule(delayMs: number, fn: (arg: unknown) => void, arg?: unknown): Timer {
    const tick = Math.max(Math.ceil((this.clock.now() + delayMs) / this.tickMs), this.lastTick + 1);
    const b = this.bucketOf(tick);
    const timer: Slot = { cancelled: false, fn, arg, bucket: b, index: b.timers.length };
    b.timers.push(timer);
    b.live++;
    this.pending++;
    if (this.autoTick && this.interval === undefined) {
      this.interval = setInterval(() => this.advance(), this.tickMs);
      this.interval.unref();
    }
    return timer;
  }

  private bucketOf(tick: number): Bucket {
    if (tick - this.lastTick < RING) {
      const i = tick & RING_MASK;
      let b = this.ring[i];
      if (b === undefined) this.ring[i] = (b = { tick, timers: [], live: 0, firing: false });
      return b;
    }
    let b = this.far.get(tick);
    if (b === undefined) this.far.set(tick, (b = { tick, timers: [], live: 0, firing: false }));
    return b;
  }

  cancel(timer: Timer | undefined): void {
    if (timer === undefined || timer.cancelled) return;
    const t = timer as Slot;
    t.cancelled = true;
    const b = t.bucket;
    t.bucket = undefined;
    // a bucket being fired has already taken its timers off `pending`
    if (b === undefined || b.firing) return;
    b.timers[t.index] = undefined;
    this.pending--;
    if (--b.live === 0) this.drop(b);
  }

  private drop(b: Bucket): void {
    const i = b.tick & RING_MASK;
    if (this.ring[i] === b) this.ring[i] = undefined;
    else this.far.delete(b.tick);
  }

  /** Fire every timer due by the clock's now. */
  advance(): void {
    const nowTick = Math.floor(this.clock.now() / this.tickMs);
    while (this.lastTick < nowTick) {
      const tick = ++this.lastTick;
      // a tick's far bucket was filled before its ring bucket existed: it fires first (schedule order)
      if (this.far.size > 0) {
        const b = this.far.get(tick);
        if (b !== undefined) { this.far.delete(tick); this.fire(b); }
      }
      const i = tick & RING_MASK;
      const near = this.ring[i];
      if (near !== undefined && near.tick === tick) { this.ring[i] = undefined; this.fire(near); }
    }
    if (this.pending === 0 && this.interval !== undefined) {
      clearInterval(this.interval);
      this.interval = undefined;
    }
  }

  private fire(b: Bucket): void {
    b.firing = true;
    this.pending -= b.live;
    const timers = b.timers;
    for (let j = 0; j < timers.length; j++) {
      const t = timers[j];
      if (t === undefined || t.cancelled) continue;
      t.cancelled = true;
      t.bucket = undefined;
      if (this.onError === undefined) t.fn(t.arg);
      else {
        try {
          t.fn(t.arg);
        } catch (err) {
          this.onError(err);
        }
      }
    }
  }

  get size(): number {
    return this.pending;
  }

  stop(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    this.interval = undefined;
  }
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(public t = 1_000_000) {}
  now(): number { return this.t; }
}
