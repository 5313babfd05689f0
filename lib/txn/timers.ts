// A coarse timer wheel for transaction timers (undici's lib/util/timers.js idea): thousands of
// SIP timers share one native interval instead of one setTimeout each. The clock is injectable so
// tests drive time by hand.

export interface Clock { now(): number }
export const systemClock: Clock = { now: () => Date.now() };

export interface Timer { cancelled: boolean; fn: (arg: unknown) => void; arg: unknown; readonly tick: number }

export class TimerWheel {
  // a Set per tick so a cancelled timer is released at once, not when its tick comes round
  private readonly buckets = new Map<number, Set<Timer>>();
  private lastTick: number;
  private pending = 0;
  private interval: NodeJS.Timeout | undefined;

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
    const timer: Timer = { cancelled: false, fn, arg, tick };
    let b = this.buckets.get(tick);
    if (b === undefined) this.buckets.set(tick, (b = new Set()));
    b.add(timer);
    this.pending++;
    if (this.autoTick && this.interval === undefined) {
      this.interval = setInterval(() => this.advance(), this.tickMs);
      this.interval.unref();
    }
    return timer;
  }

  cancel(timer: Timer | undefined): void {
    if (timer === undefined || timer.cancelled) return;
    timer.cancelled = true;
    const b = this.buckets.get(timer.tick);
    if (b !== undefined && b.delete(timer)) {
      this.pending--;
      if (b.size === 0) this.buckets.delete(timer.tick);
    }
  }

  /** Fire every timer due by the clock's now. */
  advance(): void {
    const nowTick = Math.floor(this.clock.now() / this.tickMs);
    while (this.lastTick < nowTick) {
      this.lastTick++;
      const b = this.buckets.get(this.lastTick);
      if (b === undefined) continue;
      this.buckets.delete(this.lastTick);
      this.pending -= b.size;
      for (const t of b) if (!t.cancelled) { t.cancelled = true; t.fn(t.arg); }
    }
    if (this.pending === 0 && this.interval !== undefined) {
      clearInterval(this.interval);
      this.interval = undefined;
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
