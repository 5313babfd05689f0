// Non-INVITE server transactions in Completed over UDP (RFC 3261 17.2.2), kept for Timer J
// (64*T1) only to answer a retransmitted request with the same final response. A REGISTER load
// holds 32 s of them: at 12,000/s about 380,000, which as transaction objects were ~1 KB of heap
// each, copied twice by the scavenger and later swept by mark-compact. Here each is one record in
// off-heap chunks (its key, Call-ID and response bytes), appended in time order and expired from
// the oldest, found through an open-addressing table of key hashes: nothing of the request is left
// on the heap (REGISTER at 12,000/s: peak RSS 540-596 MB before, 292-298 MB with it; CPU the same,
// bench/PERFORMANCE.md round 9). Records all live 64*T1 from their final response, so the order
// they were kept in is the order they expire in; one handed over late (a forked request whose
// context outlived its final response) keeps only what was left of its Timer J but waits behind
// older ones, at most that much longer.
import type { TimerWheel } from './timers.js';

/** what a record's expiry tells (resharding counts live transactions per Call-ID) */
export interface ExpiryWatch { active: boolean; ended(callId: string): void }

export interface CompletedStoreOptions {
  /** bytes per chunk; a record larger than a chunk is not kept (default 1 MiB) */
  chunkBytes?: number;
  /** most chunks in use at once; past it keep() says no and the caller holds the transaction itself (default 1,024: 1 GiB) */
  maxChunks?: number;
  /** initial index size, a power of two (tests make it small to force collisions) */
  initialSlots?: number;
}

/** record header: expires at (f64 ms), key hash (u32), key length (u16), Call-ID length (u16), response length (u32) */
const HEADER = 20;
const MAX_FIELD = 0xffff;
/** chunks kept for reuse once their records expired (beyond, they go to the GC) */
const SPARE_CHUNKS = 4;

interface Chunk { readonly id: number; readonly buf: Buffer; used: number }

/** FNV-1a over the key's characters; -1 if one is not latin1 (the record stores the key as bytes). */
function hashKey(key: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < key.length; i++) {
    const c = key.charCodeAt(i);
    if (c > 0xff) return -1;
    h = Math.imul(h ^ c, 0x01000193);
  }
  return h >>> 0;
}

/** `s` as bytes at `at` (keys and Call-IDs are short: a loop beats the native call); -1 if a char is not latin1. */
function writeLatin1(buf: Buffer, at: number, s: string): number {
  if (at < 0) return -1;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) return -1;
    buf[at + i] = c;
  }
  return at + s.length;
}

export class CompletedTxnStore {
  private readonly chunkBytes: number;
  private readonly maxChunks: number;
  private readonly initialSlots: number;
  /** in time order: the first holds the oldest record (at readOff), the last is written */
  private chunks: Chunk[] = [];
  private readOff = 0;
  private readonly byId: Array<Chunk | undefined> = [];
  private readonly spare: Chunk[] = [];
  /**
   * index, two int32 per slot side by side (one cache line per probe): record address + 1 (0: an
   * empty slot), then the record's key hash
   */
  private table: Int32Array;
  /** slots - 1 (slots: a power of two) */
  private mask: number;
  private count = 0;
  private expiryPending = false;
  private readonly expireDue = (): void => {
    this.expiryPending = false;
    this.expire(this.timers.clock.now());
  };

  constructor(private readonly timers: TimerWheel, private readonly watch: () => ExpiryWatch | undefined, opts: CompletedStoreOptions = {}) {
    this.chunkBytes = opts.chunkBytes ?? 1 << 20;
    // addresses are chunk id * chunkBytes + offset and must stay below 2^31 (Int32Array slots)
    this.maxChunks = Math.min(opts.maxChunks ?? 1024, Math.floor(0x7fffffff / this.chunkBytes) - 1);
    this.initialSlots = opts.initialSlots ?? 4096;
    this.table = new Int32Array(2 * this.initialSlots);
    this.mask = this.initialSlots - 1;
  }

  /** records held */
  get size(): number {
    return this.count;
  }

  /** bytes of chunks in use */
  get bytes(): number {
    return this.chunks.length * this.chunkBytes;
  }

  /**
   * Keep `response` as the final answer to the request of `key` for holdMs. False when it cannot be
   * kept here (too large, the store is at its chunk limit, a key not in latin1): the caller then
   * keeps its transaction as an object, as before.
   */
  keep(key: string, callId: string, response: Uint8Array, holdMs: number): boolean {
    const hash = hashKey(key);
    if (hash < 0 || key.length > MAX_FIELD || callId.length > MAX_FIELD) return false;
    const len = HEADER + key.length + callId.length + response.length;
    if (len > this.chunkBytes) return false;
    let c = this.chunks[this.chunks.length - 1];
    if (c === undefined || c.used + len > this.chunkBytes) {
      const next = this.newChunk();
      if (next === undefined) return false;
      c = next;
    }
    const buf = c.buf;
    const at = c.used;
    // the fields first: a Call-ID not in latin1 leaves the chunk as it was (nothing committed)
    let off = writeLatin1(buf, at + HEADER, key);
    off = writeLatin1(buf, off, callId);
    if (off < 0) return false;
    buf.set(response, off);
    buf.writeDoubleLE(this.timers.clock.now() + holdMs, at);
    buf.writeUInt32LE(hash, at + 8);
    buf.writeUInt16LE(key.length, at + 12);
    buf.writeUInt16LE(callId.length, at + 14);
    buf.writeUInt32LE(response.length, at + 16);
    const address = c.id * this.chunkBytes + at;
    c.used += len;
    this.insert(address, hash);
    if (!this.expiryPending) {
      this.expiryPending = true;
      this.timers.schedule(this.untilOldest(), this.expireDue);
    }
    return true;
  }

  /** A copy of the final response kept for `key`, if any (a retransmission's answer). */
  response(key: string): Buffer | undefined {
    if (this.count === 0) return undefined;
    const address = this.find(key);
    if (address < 0) return undefined;
    const buf = this.chunkAt(address).buf;
    const off = address % this.chunkBytes;
    const start = off + HEADER + buf.readUInt16LE(off + 12) + buf.readUInt16LE(off + 14);
    return Buffer.from(buf.subarray(start, start + buf.readUInt32LE(off + 16)));
  }

  /** The Call-ID of every record held (what resharding pins). */
  callIds(): string[] {
    const out: string[] = [];
    this.forEachRecord((c, off) => { out.push(this.callIdAt(c.buf, off)); });
    return out;
  }

  /** Drop every record due by `now` (oldest first), telling the watch of each while it is active. */
  expire(now: number): void {
    const w = this.watch();
    while (this.count > 0) {
      const c = this.chunks[0]!;
      if (this.readOff >= c.used) {
        this.recycle(this.chunks.shift()!);
        this.readOff = 0;
        continue;
      }
      const buf = c.buf;
      const off = this.readOff;
      if (buf.readDoubleLE(off) > now) break;
      this.remove(c.id * this.chunkBytes + off, buf.readUInt32LE(off + 8));
      if (w?.active === true) w.ended(this.callIdAt(buf, off));
      this.readOff = off + this.recordLength(buf, off);
    }
    if (this.count === 0) this.reset();
    else if (!this.expiryPending) {
      this.expiryPending = true;
      this.timers.schedule(this.untilOldest(), this.expireDue);
    }
  }

  // ---- records ---------------------------------------------------------------------------

  private recordLength(buf: Buffer, off: number): number {
    return HEADER + buf.readUInt16LE(off + 12) + buf.readUInt16LE(off + 14) + buf.readUInt32LE(off + 16);
  }

  private callIdAt(buf: Buffer, off: number): string {
    const start = off + HEADER + buf.readUInt16LE(off + 12);
    return buf.toString('latin1', start, start + buf.readUInt16LE(off + 14));
  }

  private keyEquals(address: number, key: string): boolean {
    const buf = this.chunkAt(address).buf;
    const off = address % this.chunkBytes;
    if (buf.readUInt16LE(off + 12) !== key.length) return false;
    const start = off + HEADER;
    for (let i = 0; i < key.length; i++) if (buf[start + i] !== key.charCodeAt(i)) return false;
    return true;
  }

  private forEachRecord(fn: (c: Chunk, off: number) => void): void {
    let off = this.readOff;
    for (const c of this.chunks) {
      for (; off < c.used; off += this.recordLength(c.buf, off)) fn(c, off);
      off = 0;
    }
  }

  private untilOldest(): number {
    const c = this.chunks[0];
    if (c === undefined || this.readOff >= c.used) return 0;
    return Math.max(0, c.buf.readDoubleLE(this.readOff) - this.timers.clock.now());
  }

  // ---- chunks ----------------------------------------------------------------------------

  private chunkAt(address: number): Chunk {
    return this.byId[Math.floor(address / this.chunkBytes)]!;
  }

  private newChunk(): Chunk | undefined {
    let c = this.spare.pop();
    if (c === undefined) {
      if (this.chunks.length >= this.maxChunks) return undefined;
      let id = this.byId.indexOf(undefined);
      if (id < 0) id = this.byId.length;
      c = { id, buf: Buffer.allocUnsafeSlow(this.chunkBytes), used: 0 };
      this.byId[id] = c;
    }
    c.used = 0;
    this.chunks.push(c);
    return c;
  }

  private recycle(c: Chunk): void {
    if (this.spare.length < SPARE_CHUNKS) this.spare.push(c);
    else this.byId[c.id] = undefined;
  }

  /** Nothing held: every chunk back to spare, the index back to its first size. */
  private reset(): void {
    for (const c of this.chunks) this.recycle(c);
    this.chunks = [];
    this.readOff = 0;
    if (this.mask + 1 > this.initialSlots) {
      this.table = new Int32Array(2 * this.initialSlots);
      this.mask = this.initialSlots - 1;
    }
  }

  // ---- index (linear probing, backward-shift deletion) -------------------------------------

  private find(key: string): number {
    const hash = hashKey(key);
    if (hash < 0) return -1;
    const h = hash | 0;
    const { table, mask } = this;
    for (let i = hash & mask; ; i = (i + 1) & mask) {
      const a = table[2 * i]!;
      if (a === 0) return -1;
      if (table[2 * i + 1] === h && this.keyEquals(a - 1, key)) return a - 1;
    }
  }

  private insert(address: number, hash: number): void {
    if ((this.count + 1) * 2 > this.mask + 1) this.grow();
    this.place(address, hash | 0);
    this.count++;
  }

  private place(address: number, hash: number): void {
    const { table, mask } = this;
    let i = hash & mask;
    while (table[2 * i] !== 0) i = (i + 1) & mask;
    table[2 * i] = address + 1;
    table[2 * i + 1] = hash;
  }

  private grow(): void {
    const old = this.table;
    this.table = new Int32Array(2 * old.length);
    this.mask = old.length - 1; // old.length is 2 * the old slot count: the new slot count
    for (let i = 0; i < old.length; i += 2) if (old[i] !== 0) this.place(old[i]! - 1, old[i + 1]!);
  }

  private remove(address: number, hash: number): void {
    const { table, mask } = this;
    let i = hash & mask;
    while (table[2 * i] !== address + 1) {
      if (table[2 * i] === 0) return; // not indexed (cannot happen: every record is)
      i = (i + 1) & mask;
    }
    // backward shift: move up each later entry of the run whose home is not in (hole, entry]
    for (let j = (i + 1) & mask; table[2 * j] !== 0; j = (j + 1) & mask) {
      const home = table[2 * j + 1]! & mask;
      const stays = i <= j ? home > i && home <= j : home > i || home <= j;
      if (stays) continue;
      table[2 * i] = table[2 * j]!;
      table[2 * i + 1] = table[2 * j + 1]!;
      i = j;
    }
    table[2 * i] = 0;
    this.count--;
  }
}
