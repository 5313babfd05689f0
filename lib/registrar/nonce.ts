// Stateless digest nonces: base64url(issue time (8 bytes BE ms) || sequence (4 bytes BE) || issuer
// (4 bytes) || HMAC-SHA256(secret, time || sequence || issuer || binding)[0..16]). The issuer is a
// random tag per manager (per shard thread) and the sequence counts its nonces, so every challenge
// is unique (nonces of one millisecond would otherwise be equal and two clients would share one nc
// counter). Any shard holding the secret can check a nonce another shard issued, with no shared
// table. What a nonce shows in clear: its issue time and how many its shard had issued before.
//
// Replay protection (RFC 7616 3.3: nc must grow) is the one piece of state, kept per thread. To make
// a per-thread counter enough, a nonce is bound to the Call-ID it was issued for (`binding`): the
// same Call-ID always lands on the same shard, so a captured Authorization replayed under another
// Call-ID fails the MAC on whichever shard it reaches (the client is told stale=true and simply
// answers a fresh challenge). The counters of this manager's own nonces sit in a ring indexed by
// sequence (no hashing, no Map: at 12,000 registrations/s the Map lookups of a fresh nonce were 3% of
// a shard); a nonce too old for the ring is stale, never counted afresh, so a forgotten counter
// cannot let a replay through (Kamailio's nonce-count array works the same way). Nonces of other
// managers (another shard's, before a resize moved the Call-ID) are counted in a bounded map. A
// replacement shard lost its predecessor's counters, so it treats every nonce issued before it
// started (`notBefore`) as stale.
import { hash, randomBytes } from 'node:crypto';
import { createError } from '../errors.js';
import { detach } from '../sip/detach.js';
import { TwoGenerationMap } from './two-generation-map.js';

export type NonceState = 'valid' | 'stale' | 'invalid';

export interface NonceOptions {
  secret: Buffer;
  ttlSeconds: number;
  /** ms since epoch; injectable for tests */
  now: () => number;
  /** nc counters of this manager's own nonces: kept for the last `trackedNonces` issued (rounded up
   *  to a power of two; default 2^20, 4 MB of counters: 87 s of challenges at 12,000/s); an older
   *  nonce of ours is stale */
  trackedNonces?: number;
  /** nc counters of other managers' nonces: kept for at least this many (default 100 000; at most
   *  twice that) */
  maxTracked?: number;
  /** ms since epoch; nonces issued earlier are stale (counters of that time are lost) */
  notBefore?: number;
  /** keep what issue() hands out so that check() skips the MAC and checkCount() uses the ring
   *  (default true); false for a manager that only issues or checks (the main thread's stateless
   *  challenges): the shard that gets the answer checks the MAC instead, and the nc counters stay
   *  with that shard */
  rememberIssued?: boolean;
}

const TIME_BYTES = 8;
const SEQ_BYTES = 4;
const ISSUER_BYTES = 4;
const SIGNED_BYTES = TIME_BYTES + SEQ_BYTES + ISSUER_BYTES;
const MAC_BYTES = 16;
const NONCE_CHARS = 43; // 32 bytes in unpadded base64url
const NONCE_RE = /^[A-Za-z0-9_-]{43}$/;
const BLOCK = 64; // SHA-256 block size (RFC 2104 B)
const TWO_32 = 2 ** 32;
/** nonces this manager issued lately, remembered so that their answer skips the MAC: the 401 and
 *  the retried REGISTER are milliseconds apart and land on the same shard (same Call-ID) */
const RECENT_ISSUED = 4096;
const DEFAULT_TRACKED = 1 << 20;

/** base64url character code -> its 6 bits, -1 for anything else */
const B64URL = new Int8Array(128).fill(-1);
'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'.split('').forEach((c, i) => { B64URL[c.charCodeAt(0)] = i; });

/** The 24 bits of the four base64url characters at `at`, or -1 when one is not base64url. */
function quad(text: string, at: number): number {
  let v = 0;
  for (let i = at; i < at + 4; i++) {
    const c = text.charCodeAt(i);
    const d = c < 128 ? B64URL[c]! : -1;
    if (d < 0) return -1;
    v = (v << 6) | d;
  }
  return v;
}

/** Bytes 8-11 of a nonce (its sequence) read from its text, or -1: they are characters 8-15. */
function sequenceOf(nonce: string): number {
  const a = quad(nonce, 8); // bytes 6, 7, 8
  const b = quad(nonce, 12); // bytes 9, 10, 11
  return a < 0 || b < 0 ? -1 : (((a & 0xff) << 24) | b) >>> 0;
}

/** Bytes 12-15 of a nonce (its issuer) read from its text, or -1: they are characters 16-21. */
function issuerOf(nonce: string): number {
  const a = quad(nonce, 16); // bytes 12, 13, 14
  const b = quad(nonce, 20); // bytes 15, 16, 17
  return a < 0 || b < 0 ? -1 : ((a << 8) | (b >>> 16)) >>> 0;
}

export class NonceManager {
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #issuer = randomBytes(ISSUER_BYTES).readUInt32BE(0);
  /** the sequence of the next nonce issued */
  #seq = 0;
  /** highest nc seen per nonce of ours, at [sequence & mask]; 0: none yet */
  readonly #ncRing: Uint32Array;
  readonly #ncMask: number;
  /** highest nc seen per nonce of another manager (see TwoGenerationMap) */
  readonly #foreignCounts: TwoGenerationMap<number>;
  /** the last RECENT_ISSUED nonces issued, their binding and issue time, at [sequence & mask] */
  readonly #recentNonce: string[] = new Array<string>(RECENT_ISSUED).fill('');
  readonly #recentBinding: string[] = new Array<string>(RECENT_ISSUED).fill('');
  readonly #recentAt = new Float64Array(RECENT_ISSUED);
  readonly #notBefore: number;
  readonly #rememberIssued: boolean;
  /** (key XOR ipad) then room for the signed bytes and the binding: HMAC's inner hash input */
  #inner: Buffer;
  /** (key XOR opad) then the inner hash: HMAC's outer hash input */
  readonly #outer = Buffer.alloc(BLOCK + 32);

  constructor(opts: NonceOptions) {
    if (opts.secret.length < 16) throw createError('SIP_ERR_CONFIG', 'nonce secret must be at least 16 bytes');
    if (!(opts.ttlSeconds > 0)) throw createError('SIP_ERR_CONFIG', 'nonce ttlSeconds must be positive');
    // RFC 2104: a key longer than the block is hashed first
    const key = opts.secret.length > BLOCK ? hash('sha256', opts.secret, 'buffer') : opts.secret;
    this.#inner = Buffer.alloc(BLOCK + SIGNED_BYTES + 256);
    for (let i = 0; i < BLOCK; i++) {
      this.#inner[i] = (key[i] ?? 0) ^ 0x36;
      this.#outer[i] = (key[i] ?? 0) ^ 0x5c;
    }
    this.#ttlMs = opts.ttlSeconds * 1000;
    this.#now = opts.now;
    this.#notBefore = opts.notBefore ?? 0;
    this.#rememberIssued = opts.rememberIssued ?? true;
    this.#foreignCounts = new TwoGenerationMap<number>(opts.maxTracked ?? 100_000);
    const tracked = Math.min(Math.max(1, Math.floor(opts.trackedNonces ?? DEFAULT_TRACKED)), 2 ** 30);
    const size = this.#rememberIssued ? 2 ** Math.ceil(Math.log2(tracked)) : 1;
    this.#ncRing = new Uint32Array(size);
    this.#ncMask = size - 1;
  }

  /** A fresh nonce, valid only for requests with the same `binding` (their Call-ID). */
  issue(binding = ''): string {
    const buf = Buffer.allocUnsafe(SIGNED_BYTES + MAC_BYTES);
    const at = Math.max(0, Math.floor(this.#now()));
    const seq = this.#seq;
    this.#seq = (seq + 1) >>> 0;
    // 64-bit big-endian milliseconds as two 32-bit halves (no BigInt per nonce)
    buf.writeUInt32BE(Math.floor(at / TWO_32), 0);
    buf.writeUInt32BE(at % TWO_32, 4);
    buf.writeUInt32BE(seq, TIME_BYTES);
    buf.writeUInt32BE(this.#issuer, TIME_BYTES + SEQ_BYTES);
    buf.write(this.#mac(buf.subarray(0, SIGNED_BYTES), binding), SIGNED_BYTES, MAC_BYTES, 'latin1');
    const nonce = buf.toString('base64url');
    if (this.#rememberIssued) {
      const r = seq & (RECENT_ISSUED - 1);
      this.#recentNonce[r] = nonce;
      this.#recentBinding[r] = binding;
      this.#recentAt[r] = at;
      this.#ncRing[seq & this.#ncMask] = 0;
    }
    return nonce;
  }

  check(nonce: string, binding = ''): NonceState {
    // one we issued lately, for this binding: its MAC is ours by construction
    if (this.#rememberIssued && nonce.length === NONCE_CHARS) {
      const seq = sequenceOf(nonce);
      const r = seq & (RECENT_ISSUED - 1);
      if (seq >= 0 && this.#recentNonce[r] === nonce && this.#recentBinding[r] === binding) return this.#ageState(this.#recentAt[r]!);
    }
    if (!NONCE_RE.test(nonce)) return 'invalid';
    const buf = Buffer.from(nonce, 'base64url');
    // only the canonical spelling: two strings for one nonce would get two nc counters
    if (buf.length !== SIGNED_BYTES + MAC_BYTES || buf.toString('base64url') !== nonce) return 'invalid';
    const mac = this.#mac(buf.subarray(0, SIGNED_BYTES), binding);
    // every byte looked at, no early exit (as timingSafeEqual, without a Buffer for our MAC)
    let diff = 0;
    for (let i = 0; i < MAC_BYTES; i++) diff |= mac.charCodeAt(i) ^ buf[SIGNED_BYTES + i]!;
    if (diff !== 0) return 'invalid';
    return this.#ageState(buf.readUInt32BE(0) * TWO_32 + buf.readUInt32BE(4));
  }

  #ageState(issued: number): NonceState {
    if (issued < this.#notBefore) return 'stale';
    const age = this.#now() - issued;
    // A nonce from the future means our clock stepped back: it is ours, so ask for a fresh one
    // (stale) rather than make the user agent think its password is wrong.
    return age > this.#ttlMs || age < -this.#ttlMs ? 'stale' : 'valid';
  }

  /**
   * Record `nc` for a nonce that check() found valid; false when it does not exceed the highest
   * seen (a replay), or when the nonce is ours but older than the counters kept for ours.
   */
  checkCount(nonce: string, nc: number): boolean {
    if (!Number.isSafeInteger(nc) || nc < 1 || nc >= TWO_32) return false;
    if (this.#rememberIssued && nonce.length === NONCE_CHARS && issuerOf(nonce) === this.#issuer) {
      const seq = sequenceOf(nonce);
      // issued among the last ring-size nonces: its slot is still its own
      if (seq < 0 || ((this.#seq - 1 - seq) >>> 0) > this.#ncMask) return false;
      const slot = seq & this.#ncMask;
      if (nc <= this.#ncRing[slot]!) return false;
      this.#ncRing[slot] = nc;
      return true;
    }
    const seen = this.#foreignCounts.get(nonce);
    if (seen !== undefined && nc <= seen) return false;
    // the nonce came out of an Authorization header: keyed by a slice, the entry would keep that
    // whole request alive for as long as the counter is remembered
    this.#foreignCounts.set(detach(nonce), nc);
    return true;
  }

  /**
   * HMAC-SHA256(secret, signed || binding) (RFC 2104) from two one-shot hashes over buffers made
   * once: createHmac builds and tears down a native object on every call. The digests come back as
   * latin1 text (one character per byte), not as Buffers: each Buffer is an ArrayBuffer of its own
   * for V8 to track and a helper thread to free, two per nonce issued.
   */
  #mac(signed: Buffer, binding: string): string {
    const need = BLOCK + SIGNED_BYTES + binding.length;
    if (need > this.#inner.length) {
      const bigger = Buffer.alloc(need * 2);
      this.#inner.copy(bigger, 0, 0, BLOCK);
      this.#inner = bigger;
    }
    signed.copy(this.#inner, BLOCK);
    const n = this.#inner.write(binding, BLOCK + SIGNED_BYTES, 'latin1');
    this.#outer.write(hash('sha256', this.#inner.subarray(0, BLOCK + SIGNED_BYTES + n), 'binary'), BLOCK, 'latin1');
    return hash('sha256', this.#outer, 'binary'); // 'binary' is latin1
  }
}
