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
import { createHmac, randomFillSync, timingSafeEqual } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { createError } from '../errors.js';

export type NonceState = 'valid' | 'stale' | 'invalid';

export interface NonceOptions {
  secret: Buffer;
  ttlSeconds: number;
  /** ms since epoch; injectable for tests */
  now: () => number;
  /** how many nonces' nc counters to remember (default 100 000) */
  maxTracked?: number;
  /** ms since epoch; nonces issued earlier are stale (counters of that time are lost) */
  notBefore?: number;
}

const TIME_BYTES = 8;
const SALT_BYTES = 8;
const SIGNED_BYTES = TIME_BYTES + SALT_BYTES;
const MAC_BYTES = 16;
const NONCE_RE = /^[A-Za-z0-9_-]{43}$/; // 32 bytes in unpadded base64url

export class NonceManager {
  readonly #secret: Buffer;
  readonly #ttlMs: number;
  readonly #now: () => number;
  readonly #counts: LRUCache<string, number>;
  readonly #notBefore: number;

  constructor(opts: NonceOptions) {
    if (opts.secret.length < 16) throw createError('SIP_ERR_CONFIG', 'nonce secret must be at least 16 bytes');
    if (!(opts.ttlSeconds > 0)) throw createError('SIP_ERR_CONFIG', 'nonce ttlSeconds must be positive');
    this.#secret = opts.secret;
    this.#ttlMs = opts.ttlSeconds * 1000;
    this.#now = opts.now;
    this.#notBefore = opts.notBefore ?? 0;
    // An entry older than the nonce lifetime protects nothing: let it age out lazily (no timers).
    this.#counts = new LRUCache<string, number>({ max: opts.maxTracked ?? 100_000, ttl: this.#ttlMs, ttlAutopurge: false });
  }

  /** A fresh nonce, valid only for requests with the same `binding` (their Call-ID). */
  issue(binding = ''): string {
    const buf = Buffer.allocUnsafe(SIGNED_BYTES + MAC_BYTES);
    buf.writeBigUInt64BE(BigInt(Math.max(0, Math.floor(this.#now()))), 0);
    randomFillSync(buf, TIME_BYTES, SALT_BYTES);
    this.#mac(buf.subarray(0, SIGNED_BYTES), binding).copy(buf, SIGNED_BYTES, 0, MAC_BYTES);
    return buf.toString('base64url');
  }

  check(nonce: string, binding = ''): NonceState {
    if (!NONCE_RE.test(nonce)) return 'invalid';
    const buf = Buffer.from(nonce, 'base64url');
    // only the canonical spelling: two strings for one nonce would get two nc counters
    if (buf.length !== SIGNED_BYTES + MAC_BYTES || buf.toString('base64url') !== nonce) return 'invalid';
    const mac = this.#mac(buf.subarray(0, SIGNED_BYTES), binding).subarray(0, MAC_BYTES);
    if (!timingSafeEqual(mac, buf.subarray(SIGNED_BYTES))) return 'invalid';
    const issued = Number(buf.readBigUInt64BE(0));
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
    this.#counts.set(nonce, nc);
    return true;
  }

  #mac(signed: Buffer, binding: string): Buffer {
    return createHmac('sha256', this.#secret).update(signed).update(binding, 'latin1').digest();
  }
}
