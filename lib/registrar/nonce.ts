// Stateless digest nonces: base64url(issue time (8 bytes BE ms) || salt (8 random bytes) ||
// HMAC-SHA256(secret, time || salt || binding)[0..16]). The salt makes every challenge unique: nonces
// issued in the same millisecond would otherwise be equal and two clients would share one nc counter.
// Any shard holding the secret can check a nonce another shard issued, with no shared table.
//
// Replay protection (RFC 7616 3.3: nc must grow) is the one piece of state, kept per thread in a
// bounded LRU. To make a per-thread counter enough, a nonce is bound to the Call-ID it was issued
// for (`binding`): the same Call-ID always lands on the same shard, so a captured Authorization
// replayed under another Call-ID fails the MAC on whichever shard it reaches (the client is told
// stale=true and simply answers a fresh challenge). A replacement shard lost its predecessor's
// counters, so it treats every nonce issued before it started (`notBefore`) as stale.
import { hash, randomFillSync, timingSafeEqual } from 'node:crypto';
import { createError } from '../errors.js';
import { detach } from '../sip/detach.js';
import { TwoGenerationMap } from './two-generation-map.js';

export type NonceState = 'valid' | 'stale' | 'invalid';

export interface NonceOptions {
  secret: Buffer;
  ttlSeconds: number;
  /** ms since epoch; injectable for tests */
  now: () => number;
  /** how many nonces' nc counters to remember at least (default 100 000; at most twice that) */
  maxTracked?: number;
  /** ms since epoch; nonces issued earlier are stale (counters of that time are lost) */
  notBefore?: number;
  /** keep what issue() hands out so that check() skips the MAC (default true); false for a
   *  manager that only issues (the main thread's stateless challenges): the shard that gets the
   *  answer checks the MAC instead, and the nc counters stay with that shard */
  rememberIssued?: boolean;
}

const TIME_BYTES = 8;
const SALT_BYTES = 8;
const SIGNED_BYTES = TIME_BYTES + SALT_BYTES;
const MAC_BYTES = 16;
const NONCE_RE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes in unpadded base64url
const BLOCK = 64; // SHA-256 block size (RFC 2104 B)
const SALT_POOL = 4096;
const TWO_32 = 2 ** 32;
/** nonces this manager issued lately, remembered so that their answer skips the MAC: the 401 and
 *  the retried REGISTER are milliseconds apart and land on the same shard (same Call-ID) */
const RECENT_ISSUED = 2048;

interface Issued { binding: string; at: number }

/**
 * Salts come from a pool filled by the CSPRNG 4 KB at a time: the same random bytes, without a
 * native call (about 2 us) for each 8 of them.
 */
class SaltPool {
  readonly #pool = Buffer.allocUnsafeSlow(SALT_POOL);
  #used = SALT_POOL;

  take(into: Buffer, offset: number, n: number): void {
    if (this.#used + n > SALT_POOL) { randomFillSync(this.#pool); this.#used = 0; }
    this.#pool.copy(into, offset, this.#used, this.#used + n);
    // a salt handed out is wiped from the pool: nothing later can read it back from here
    this.#pool.fill(0, this.#used, this.#used + n);
    this.#used += n;
  }
}

export class NonceManager {
  readonly #ttlMs: number;
  readonly #now: () => number;
  /** highest nc seen per nonce, for the last `maxTracked` nonces counted at least (an entry older
   *  than the nonce lifetime protects nothing: check() already calls that nonce stale) */
  readonly #counts: TwoGenerationMap<number>;
  readonly #recent = new TwoGenerationMap<Issued>(RECENT_ISSUED);
  readonly #notBefore: number;
  readonly #rememberIssued: boolean;
  readonly #salts = new SaltPool();
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
    this.#counts = new TwoGenerationMap<number>(opts.maxTracked ?? 100_000);
  }

  /** A fresh nonce, valid only for requests with the same `binding` (their Call-ID). */
  issue(binding = ''): string {
    const buf = Buffer.allocUnsafe(SIGNED_BYTES + MAC_BYTES);
    const at = Math.max(0, Math.floor(this.#now()));
    // 64-bit big-endian milliseconds as two 32-bit halves (no BigInt per nonce)
    buf.writeUInt32BE(Math.floor(at / TWO_32), 0);
    buf.writeUInt32BE(at % TWO_32, 4);
    this.#salts.take(buf, TIME_BYTES, SALT_BYTES);
    this.#mac(buf.subarray(0, SIGNED_BYTES), binding).copy(buf, SIGNED_BYTES, 0, MAC_BYTES);
    const nonce = buf.toString('base64url');
    if (this.#rememberIssued) this.#recent.set(nonce, { binding, at });
    return nonce;
  }

  check(nonce: string, binding = ''): NonceState {
    // one we issued lately, for this binding: its MAC is ours by construction
    const recent = this.#recent.get(nonce);
    if (recent !== undefined && recent.binding === binding) return this.#ageState(recent.at);
    if (!NONCE_RE.test(nonce)) return 'invalid';
    const buf = Buffer.from(nonce, 'base64url');
    // only the canonical spelling: two strings for one nonce would get two nc counters
    if (buf.length !== SIGNED_BYTES + MAC_BYTES || buf.toString('base64url') !== nonce) return 'invalid';
    const mac = this.#mac(buf.subarray(0, SIGNED_BYTES), binding).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(mac, buf.subarray(SIGNED_BYTES))) return 'invalid';
    return this.#ageState(buf.readUInt32BE(0) * TWO_32 + buf.readUInt32BE(4));
  }

  #ageState(issued: number): NonceState {
    if (issued < this.#notBefore) return 'stale';
    const age = this.#now() - issued;
    // A nonce from the future means our clock stepped back: it is ours, so ask for a fresh one
    // (stale) rather than make the user agent think its password is wrong.
    return age > this.#ttlMs || age < -this.#ttlMs ? 'stale' : 'valid';
  }

  /** Record `nc` for a nonce; false when it does not exceed the highest seen (a replay). */
  checkCount(nonce: string, nc: number): boolean {
    if (!Number.isSafeInteger(nc) || nc < 1) return false;
    const seen = this.#counts.get(nonce);
    if (seen !== undefined && nc <= seen) return false;
    // the nonce came out of an Authorization header: keyed by a slice, the entry would keep that
    // whole request alive for as long as the counter is remembered
    this.#counts.set(detach(nonce), nc);
    return true;
  }

  /**
   * HMAC-SHA256(secret, signed || binding) (RFC 2104) from two one-shot hashes over buffers made
   * once: createHmac builds and tears down a native object on every call.
   */
  #mac(signed: Buffer, binding: string): Buffer {
    const need = BLOCK + SIGNED_BYTES + binding.length;
    if (need > this.#inner.length) {
      const bigger = Buffer.alloc(need * 2);
      this.#inner.copy(bigger, 0, 0, BLOCK);
      this.#inner = bigger;
    }
    signed.copy(this.#inner, BLOCK);
    const n = this.#inner.write(binding, BLOCK + SIGNED_BYTES, 'latin1');
    hash('sha256', this.#inner.subarray(0, BLOCK + SIGNED_BYTES + n), 'buffer').copy(this.#outer, BLOCK);
    return hash('sha256', this.#outer, 'buffer');
  }
}
