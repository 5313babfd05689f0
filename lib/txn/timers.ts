// A coarse timer wheel for transaction timers (undici's lib/util/timers.js idea): thousands of
// SIP timers share two native timers instead of one setTimeout each. The clock is injectable so
// tests drive time by hand.
//
// Two kinds of due time. A timer set less than `preciseBelowMs` ahead (retransmissions: T1 up to
// T2) fires on its tick: a one-shot timeout is armed for the earliest such tick. A longer one (the
// 32 s Timer J of every REGISTER and BYE, Timer B/F/C, keep-alives, a line's refresh) fires at most
// `lazyMs` late, from an interval of that period. A fixed 10 ms interval woke the thread 100 times
// a second while any timer at all was pending: for 32 s after a call on an idle shard, and for
// ever on the shard of a registered line (bench/PERFORMANCE.md, round 19).

export interface Clock { now(): number }
export const systemClock: Clock = { now: () => Date.now() };

// No tick on a timer (its bucket has it): a tick number passes 2^31 and would be a 16-byte heap
// number per timer, two of which a settled call holds for 32 s.
export interface Timer { cancelled: boolean; fn: (arg: unknown) => void; arg: unknown }

/** A scheduled timer as the wheel keeps it: where it sits, so cancel() is a store, not a search. */
interface Slot extends Timer { bucket: Bucket | undefined; index: number; precise: boolean }

/**
 * The timers of one tick in the order they were scheduled; a cancelled one leaves a hole. `precise`:
 * how many of the live ones must fire on the tick.
 */
interface Bucket { readonly tick: number; readonly timers: Array<Slot | undefined>; live: number; precise: number; firing: boolean }

export interface TimerWheelOptions {
  /** timers set less than this ahead fire on their tick; later ones up to lazyMs late (default 5,000: T4) */
  preciseBelowMs?: number;
  /** period of the wake-up that fires the other timers (default 250) */
  lazyMs?: number;
}

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
  /** of `pending`, the timers that fire on their tick */
  private precisePending = 0;
  private readonly preciseBelowMs: number;
  private readonly lazyMs: number;
  /** ticks ahead a precise timer may sit: how far rearmPrecise() looks */
  private readonly preciseSpan: number;
  /** the lazy timers' wake-up, running while anything is pending */
  private interval: NodeJS.Timeout | undefined;
  /** the one-shot wake-up for the earliest precise tick, and that tick */
  private preciseWake: NodeJS.Timeout | undefined;
  private preciseWakeTick = Infinity;
  /** times a native timer woke the wheel (either kind) */
  wakeUps = 0;
  /**
   * Told of a timer that threw, after which the others due go on firing. Unset (a worker's shard),
   * the error escapes and ends the thread, which is replaced; a shard on the main thread sets it,
   * since there the thread is the whole proxy.
   */
  onError: ((err: unknown) => void) | undefined;

  /** `autoTick: false` for tests: time moves only through advance(). */
  constructor(readonly clock: Clock = systemClock, readonly tickMs = 10, private readonly autoTick = true, opts: TimerWheelOptions = {}) {
    this.lastTick = Math.floor(clock.now() / tickMs);
    this.preciseBelowMs = opts.preciseBelowMs ?? 5_000;
    this.lazyMs = opts.lazyMs ?? 250;
    this.preciseSpan = Math.ceil(this.preciseBelowMs / tickMs) + 1;
    if (this.preciseSpan >= RING) throw new RangeError(`preciseBelowMs ${this.preciseBelowMs} must stay within the ring (${RING} ticks of ${tickMs} ms)`);
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
    const precise = delayMs < this.preciseBelowMs;
    const timer: Slot = { cancelled: false, fn, arg, bucket: b, index: b.timers.length, precise };
    b.timers.push(timer);
    b.live++;
    this.pending++;
    if (precise) {
      b.precise++;
      this.precisePending++;
    }
    if (this.autoTick) {
      if (this.interval === undefined) {
        this.interval = setInterval(this.onLazyWake, this.lazyMs);
        this.interval.unref();
      }
      if (precise && tick < this.preciseWakeTick) this.armPrecise(tick);
    }
    return timer;
  }

  private readonly onLazyWake = (): void => {
    this.wakeUps++;
    this.advance();
  };

  private readonly onPreciseWake = (): void => {
    this.preciseWake = undefined;
    this.preciseWakeTick = Infinity;
    this.wakeUps++;
    this.advance();
    this.rearmPrecise();
  };

  /** One timeout for the earliest precise tick (a cancelled timer's tick included: it is not cleared). */
  private armPrecise(tick: number): void {
    if (this.preciseWake !== undefined) clearTimeout(this.preciseWake);
    this.preciseWakeTick = tick;
    this.preciseWake = setTimeout(this.onPreciseWake, Math.max(0, tick * this.tickMs - this.clock.now()));
    this.preciseWake.unref();
  }

  /**
   * After a wake-up: the next tick holding a precise timer (all sit within preciseSpan), unless one
   * set while the due ones fired is armed already, and is no later.
   */
  private rearmPrecise(): void {
    if (this.precisePending === 0) return;
    const end = Math.min(this.lastTick + this.preciseSpan, this.preciseWakeTick - 1);
    for (let tick = this.lastTick + 1; tick <= end; tick++) {
      const b = this.ring[tick & RING_MASK];
      if (b !== undefined && b.tick === tick && b.precise > 0) {
        this.armPrecise(tick);
        return;
      }
    }
    // not found before `end`: either the armed one is the earliest, or (never, by construction) a
    // precise timer sits beyond the span, and the lazy wake-up fires it
  }

  private bucketOf(tick: number): Bucket {
    if (tick - this.lastTick < RING) {
      const i = tick & RING_MASK;
      let b = this.ring[i];
      if (b === undefined) this.ring[i] = (b = { tick, timers: [], live: 0, precise: 0, firing: false });
      return b;
    }
    let b = this.far.get(tick);
    if (b === undefined) this.far.set(tick, (b = { tick, timers: [], live: 0, precise: 0, firing: false }));
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
    if (t.precise) {
      b.precise--;
      this.precisePending--;
    }
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
    if (this.pending === 0) this.stop();
  }

  private fire(b: Bucket): void {
    b.firing = true;
    this.pending -= b.live;
    this.precisePending -= b.precise;
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

  /** Ends both wake-ups (the next schedule() starts them again). */
  stop(): void {
    if (this.interval !== undefined) clearInterval(this.interval);
    this.interval = undefined;
    if (this.preciseWake !== undefined) clearTimeout(this.preciseWake);
    this.preciseWake = undefined;
    this.preciseWakeTick = Infinity;
  }
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(public t = 1_000_000) {}
  now(): number { return this.t; }
}
