// Per-source flood protection on the main thread, before anything is dispatched to a shard (the
// idea of Kamailio's pike module): every message and every accepted TCP connection from an IP
// address counts; above `maxPerWindow` in a sliding window the address is banned for a while and
// everything it sends is dropped without an answer (answering a flood would amplify it). Repeated
// digest failures from one address (password guessing) earn a ban the same way. Also the one
// main-thread check of a message's shape a shard cannot afford to do late: the header line count.
//
// Memory is bounded: counters live in two generations (this window, the last one), each capped at
// MAX_TRACKED addresses, and the ban list is capped the same way (oldest ban evicted first).
import { normalizeAddress } from '../transport/connection-table.js';

export interface SourceGuardOptions {
  /** sliding window of the rate limit, ms */
  windowMs: number;
  /** messages (and TCP connections) allowed per source per window; 0 turns the limit off */
  maxPerWindow: number;
  banMs: number;
  /** digest failures per source allowed within authWindowMs; 0 turns the back-off off */
  maxAuthFailures: number;
  authWindowMs: number;
  authBanMs: number;
  /** most header lines in one message; 0: no limit */
  maxHeaders: number;
  /** addresses never limited (trusted peers, monitoring) */
  exempt: readonly string[];
  now?: () => number;
  onBan?: (address: string, reason: 'rate' | 'auth', untilMs: number) => void;
}

export interface SourceGuardStats {
  /** messages dropped because their source is banned or over the rate */
  rateLimited: number;
  /** TCP connections refused for the same reason */
  connectionsRefused: number;
  bans: number;
  authBans: number;
  authFailures: number;
  tooManyHeaders: number;
  activeBans: number;
}

const MAX_TRACKED = 200_000;
const LF = 0x0a;
const CR = 0x0d;

export class SourceGuard {
  readonly stats: SourceGuardStats = { rateLimited: 0, connectionsRefused: 0, bans: 0, authBans: 0, authFailures: 0, tooManyHeaders: 0, activeBans: 0 };
  #o: Required<Omit<SourceGuardOptions, 'onBan'>> & Pick<SourceGuardOptions, 'onBan'>;
  #exempt: ReadonlySet<string>;
  #windowStart: number;
  #cur = new Map<string, number>();
  #prev = new Map<string, number>();
  readonly #banned = new Map<string, number>();
  readonly #authFailures = new Map<string, { count: number; since: number }>();

  constructor(opts: SourceGuardOptions) {
    this.#o = { now: Date.now, ...opts };
    this.#exempt = new Set(opts.exempt.map(normalizeAddress));
    this.#windowStart = this.#o.now();
  }

  /**
   * A live reload: new limits and exemptions apply from the next message; counts and bans so far
   * stay (an address now exempt is admitted whatever it did before).
   */
  configure(opts: Omit<SourceGuardOptions, 'now' | 'onBan'>): void {
    this.#o = { ...this.#o, ...opts };
    this.#exempt = new Set(opts.exempt.map(normalizeAddress));
  }

  /** Count one message (or connection) from `address`; false when it must be dropped. */
  admit(address: string): boolean {
    const o = this.#o;
    if (o.maxPerWindow === 0 && this.#banned.size === 0) return true;
    const ip = normalizeAddress(address);
    if (this.#exempt.has(ip)) return true;
    const now = o.now();
    if (this.#isBanned(ip, now)) { this.stats.rateLimited++; return false; }
    if (o.maxPerWindow === 0) return true;
    this.#roll(now);
    const n = (this.#cur.get(ip) ?? 0) + 1;
    if (n === 1 && this.#cur.size >= MAX_TRACKED) return true; // spoofed-address storm: stop tracking, stay bounded
    this.#cur.set(ip, n);
    // sliding window: the last window's count weighs by how much of it still overlaps
    const overlap = 1 - (now - this.#windowStart) / o.windowMs;
    const estimate = n + (this.#prev.get(ip) ?? 0) * Math.max(0, overlap);
    if (estimate <= o.maxPerWindow) return true;
    this.stats.rateLimited++;
    this.#ban(ip, now + o.banMs, 'rate');
    return false;
  }

  /** admit() for an accepted TCP connection, counted apart. */
  admitConnection(address: string): boolean {
    const ok = this.admit(address);
    if (!ok) { this.stats.rateLimited--; this.stats.connectionsRefused++; }
    return ok;
  }

  /** A shard reports a failed digest check (wrong password, unknown user) from `address`. */
  authFailed(address: string): void {
    this.stats.authFailures++;
    const o = this.#o;
    if (o.maxAuthFailures === 0) return;
    const ip = normalizeAddress(address);
    if (this.#exempt.has(ip)) return;
    const now = o.now();
    let f = this.#authFailures.get(ip);
    if (f === undefined || now - f.since > o.authWindowMs) {
      if (f === undefined && this.#authFailures.size >= MAX_TRACKED) this.#authFailures.delete(this.#authFailures.keys().next().value!);
      this.#authFailures.set(ip, (f = { count: 0, since: now }));
    }
    if (++f.count > o.maxAuthFailures) {
      this.#authFailures.delete(ip);
      this.#ban(ip, now + o.authBanMs, 'auth');
    }
  }

  /** True when the header section has more lines than allowed (counted; the caller drops it). */
  tooManyHeaders(data: Buffer): boolean {
    const max = this.#o.maxHeaders;
    if (max === 0) return false;
    let lines = 0;
    // the start line is not a header: up to max + 1 line ends may precede the empty line
    for (let i = data.indexOf(LF); i !== -1; i = data.indexOf(LF, i + 1)) {
      const next = data[i + 1];
      if (next === LF || next === CR && data[i + 2] === LF || next === undefined) return false;
      if (++lines > max) { this.stats.tooManyHeaders++; return true; }
    }
    return false;
  }

  isBanned(address: string): boolean {
    return this.#isBanned(normalizeAddress(address), this.#o.now());
  }

  get activeBans(): number {
    return this.#banned.size;
  }

  #isBanned(ip: string, now: number): boolean {
    const until = this.#banned.get(ip);
    if (until === undefined) return false;
    if (now < until) return true;
    this.#banned.delete(ip);
    this.stats.activeBans = this.#banned.size;
    return false;
  }

  #ban(ip: string, until: number, reason: 'rate' | 'auth'): void {
    if (this.#banned.size >= MAX_TRACKED) this.#banned.delete(this.#banned.keys().next().value!);
    this.#banned.set(ip, until);
    this.#cur.delete(ip);
    this.#prev.delete(ip);
    if (reason === 'rate') this.stats.bans++;
    else this.stats.authBans++;
    this.stats.activeBans = this.#banned.size;
    this.#o.onBan?.(ip, reason, until);
  }

  #roll(now: number): void {
    const elapsed = now - this.#windowStart;
    if (elapsed < this.#o.windowMs) return;
    // two windows or more of silence: nothing of the last one overlaps any more
    this.#prev = elapsed < 2 * this.#o.windowMs ? this.#cur : new Map();
    this.#cur = new Map();
    this.#windowStart = elapsed < 2 * this.#o.windowMs ? this.#windowStart + this.#o.windowMs : now;
  }
}
