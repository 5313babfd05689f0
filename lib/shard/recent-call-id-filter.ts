// "Did this Call-ID go to a worker lately?", for the placement of new Call-IDs by load
// (call-placement.ts): two Bloom filters of Call-ID hashes, the current one and the one before,
// swapped every `holdMs`, so an entry answers yes for at least holdMs and at most twice that.
// Never a false no; a false yes (~0.03% at 4,000 placements a second held 218 s) only sends a new
// Call-ID to the workers, where it would be welcome anyway. 2 x 2 MB.
import { fmix32 } from './hash.js';

/** bits per generation (a power of two): 16 Mbit, 2 MB */
const BITS_LOG2 = 24;
const MASK = (1 << BITS_LOG2) - 1;
/** probes per entry */
const PROBES = 7;

export class RecentCallIdFilter {
  private current = new Uint32Array(1 << (BITS_LOG2 - 5));
  private previous = new Uint32Array(1 << (BITS_LOG2 - 5));
  private since: number | undefined;

  constructor(private holdMs: number) {}

  set hold(ms: number) {
    this.holdMs = ms;
  }

  /** Record the Call-ID hash (callIdHash) at `now`. */
  add(hash: number, now: number): void {
    this.rotate(now);
    const bits = this.current;
    let h = hash >>> 0;
    const step = stepOf(hash);
    for (let i = 0; i < PROBES; i++) {
      const b = h & MASK;
      bits[b >>> 5]! |= 1 << (b & 31);
      h = (h + step) >>> 0;
    }
  }

  /** Recorded within the last holdMs (at least), or a rare false yes. */
  has(hash: number, now: number): boolean {
    this.rotate(now);
    const step = stepOf(hash);
    return holds(this.current, hash, step) || holds(this.previous, hash, step);
  }

  private rotate(now: number): void {
    if (this.since === undefined) { this.since = now; return; }
    if (now - this.since < this.holdMs) return;
    // two holds with nothing added: both generations are stale
    const both = now - this.since >= 2 * this.holdMs;
    const old = this.previous;
    this.previous = this.current;
    old.fill(0);
    this.current = old;
    if (both) this.previous.fill(0);
    this.since = now;
  }
}

/** The double-hashing step: odd, from the hash mixed again (the probes of one entry differ). */
function stepOf(hash: number): number {
  return (fmix32(hash ^ 0x9e3779b9) | 1) >>> 0;
}

function holds(bits: Uint32Array, hash: number, step: number): boolean {
  let h = hash >>> 0;
  for (let i = 0; i < PROBES; i++) {
    const b = h & MASK;
    if ((bits[b >>> 5]! & (1 << (b & 31))) === 0) return false;
    h = (h + step) >>> 0;
  }
  return true;
}
