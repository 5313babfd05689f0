// Call-ID -> shard mapping. Runs on the main thread for every message: no BigInt, no allocation.

const FNV_OFFSET = 0x811c9dc5;
const FNV_PRIME = 0x01000193;

/** FNV-1a over the string's UTF-16 code units (Call-IDs are peeked as latin1, so bytes), unsigned 32-bit. */
export function fnv1a32(s: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** FNV-1a's start state: fnv1a32From(FNV1A32_START, s) === fnv1a32(s). */
export const FNV1A32_START = FNV_OFFSET;

/**
 * FNV-1a continued from state `h` over `s`: fnv1a32From(fnv1a32(a), b) === fnv1a32(a + b), so a key
 * made of several strings is hashed without concatenating them.
 */
export function fnv1a32From(h: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, FNV_PRIME);
  }
  return h >>> 0;
}

/** MurmurHash3 32-bit finaliser: every input bit affects every output bit (avalanche). */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/**
 * FNV-1a's last step is a multiply, which only carries low bits upward: its low bits depend on few
 * input bits, and Call-IDs differing only in a trailing counter cluster. fmix32 spreads them before
 * jumpHash, whose LCG starts from the key's bits.
 */
export function callIdHash(callId: string): number {
  return fmix32(fnv1a32(callId));
}

// The 64-bit LCG multiplier of the reference, 2862933555777941757, as two 32-bit halves.
const MUL_HI = 0x27bb2ee6;
const MUL_LO = 0x87b0b0fd;
const TWO_POW_31 = 2147483648;

/**
 * Jump consistent hash (Lamping & Veach 2014, arXiv:1406.2294), bit-exact with the reference:
 *
 *   b = -1, j = 0
 *   while (j < buckets) { b = j; key = key * 2862933555777941757 + 1; j = (b + 1) * (2^31 / ((key >>> 33) + 1)) }
 *
 * The 64-bit state is kept as two uint32 halves; the 64x64 multiply modulo 2^64 is
 * lo*lo (full 64-bit, from 16-bit limbs) + ((hi*lo + lo*hi) mod 2^32) << 32.
 * `key` is taken as an unsigned 32-bit value (the upper state half starts at 0).
 * Growing buckets N -> N+1 moves ~1/(N+1) of keys, all of them into bucket N.
 */
export function jumpHash(key: number, buckets: number): number {
  if (!(buckets >= 1)) return 0;
  let hi = 0;
  let lo = key >>> 0;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    // lo * MUL_LO as a full 64-bit product: exact with 16-bit limbs (each partial < 2^32).
    const a0 = lo & 0xffff;
    const a1 = lo >>> 16;
    const p00 = a0 * (MUL_LO & 0xffff);
    const p01 = a0 * (MUL_LO >>> 16);
    const p10 = a1 * (MUL_LO & 0xffff);
    const p11 = a1 * (MUL_LO >>> 16);
    const mid = (p00 >>> 16) + (p01 & 0xffff) + (p10 & 0xffff);
    const carryHi = p11 + (p01 >>> 16) + (p10 >>> 16) + (mid >>> 16);
    const newHi = (carryHi + Math.imul(hi, MUL_LO) + Math.imul(lo, MUL_HI)) >>> 0;
    const newLo = Math.imul(lo, MUL_LO) >>> 0;
    // + 1
    lo = (newLo + 1) >>> 0;
    hi = lo === 0 ? (newHi + 1) >>> 0 : newHi;
    // (key >>> 33) is hi >>> 1; same double arithmetic as the C reference, truncated.
    j = Math.floor((b + 1) * (TWO_POW_31 / ((hi >>> 1) + 1)));
  }
  return b;
}

/** Shard index in [0, buckets) for a Call-ID. */
export function shardFor(callId: string, buckets: number): number {
  return jumpHash(callIdHash(callId), buckets);
}
