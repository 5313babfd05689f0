// Crash-safe key/value state of the main thread: a write-ahead log of changes (`<path>.wal`) plus a
// compacted snapshot (`<path>`), both msgpackr. Every put() reaches the kernel with write(2) before
// it returns, or, between hold() and flush(), at the flush: the main thread holds the puts of a
// shard's batch and flushes them in one write (and one fdatasync under 'always') before the first
// message of that batch leaves, so a process crash or kill -9 loses nothing that was acknowledged;
// fsync decides what a power loss may take (see FsyncPolicy). Values are whole replacements (last
// write wins per key), so replaying a log over a snapshot that already holds some of it is
// harmless: compaction needs no sequence numbers, and a crash between writing the snapshot and
// truncating the log only replays.
//
// Namespaces keep unrelated state apart in one store: the location service uses 'location';
// learned peer state (100rel mode, trunk up/down) is meant to use its own namespace the same way.
import { closeSync, existsSync, fdatasyncSync, fstatSync, ftruncateSync, fsyncSync, mkdirSync, openSync, readFileSync, renameSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';
import { crc32 } from 'node:zlib';
import { Packr } from 'msgpackr';
import { createError } from '../errors.js';

/**
 * When a change is made durable against power loss (it always survives a process crash):
 * 'always' fdatasync before put() returns (the acknowledgement then waits for the disk);
 * 'interval' at most FSYNC_INTERVAL_MS later; 'never' leaves it to the OS.
 */
export type FsyncPolicy = 'always' | 'interval' | 'never';

export const FSYNC_INTERVAL_MS = 1000;
const HEADER_BYTES = 8; // u32 length, u32 crc32 of the payload
const MAX_RECORD_BYTES = 64 * 1024 * 1024;
const SNAPSHOT_VERSION = 2;
/** the records of a group are assembled here; a larger group's buffer is let go after its flush */
const GROUP_BUFFER_BYTES = 64 * 1024;

/** What a store of keyed state needs; one namespace per kind of state. */
export interface StateJournal {
  /**
   * Record the new value of `key` (undefined deletes it); durable against a crash on return, or
   * while the journal is held, once it is flushed.
   */
  put(ns: string, key: string, value: unknown): void;
  /** Where compaction reads the current state of a namespace from. */
  provide(ns: string, dump: () => Iterable<[string, unknown]>): void;
}

export interface JournalOptions {
  /** snapshot file; the log is `${path}.wal` */
  path: string;
  fsync: FsyncPolicy;
  /** compact (snapshot + empty log) once the log grows past this */
  compactBytes?: number;
  /** converts a snapshot of an older format into namespaces; undefined: not ours */
  migrate?: (data: unknown) => Record<string, Array<[string, unknown]>> | undefined;
  onError?: (err: unknown, what: string) => void;
}

export interface JournalStats {
  puts: number;
  /** write(2) calls of records: a flush of a group of puts is one */
  writes: number;
  compactions: number;
  walBytes: number;
  /** records dropped at load because the log ended mid-record (a crash during a write) */
  tornRecords: number;
  errors: number;
}

// Fixed on both sides: decoding with another useRecords setting than encoding misreads the data.
const packr = new Packr({ useRecords: false });

export class Journal implements StateJournal {
  readonly stats: JournalStats = { puts: 0, writes: 0, compactions: 0, walBytes: 0, tornRecords: 0, errors: 0 };
  readonly #path: string;
  readonly #walPath: string;
  readonly #fsync: FsyncPolicy;
  readonly #compactBytes: number;
  readonly #dumps = new Map<string, () => Iterable<[string, unknown]>>();
  readonly #opts: JournalOptions;
  #fd = -1;
  #dirty = false;
  #timer: NodeJS.Timeout | undefined;
  /** records not yet written: bytes [0, #groupBytes) of #group, #groupRecords of them */
  #group = Buffer.allocUnsafe(GROUP_BUFFER_BYTES);
  #groupBytes = 0;
  #groupRecords = 0;
  #holding = false;

  constructor(opts: JournalOptions) {
    this.#opts = opts;
    this.#path = opts.path;
    this.#walPath = `${opts.path}.wal`;
    this.#fsync = opts.fsync;
    this.#compactBytes = opts.compactBytes ?? 16 * 1024 * 1024;
  }

  /**
   * Read the snapshot and replay the log: the state per namespace as it was after the last put().
   * A torn last record (crash mid-write) is cut off. Opens the log for appending.
   */
  load(): Map<string, Map<string, unknown>> {
    const state = new Map<string, Map<string, unknown>>();
    const ns = (name: string): Map<string, unknown> => {
      let m = state.get(name);
      if (m === undefined) state.set(name, (m = new Map()));
      return m;
    };
    if (existsSync(this.#path)) {
      for (const [name, entries] of Object.entries(this.#readSnapshot())) {
        const m = ns(name);
        for (const [k, v] of entries) m.set(k, v);
      }
    }
    mkdirSync(dirname(this.#walPath), { recursive: true });
    let good = 0;
    if (existsSync(this.#walPath)) {
      const wal = readFileSync(this.#walPath);
      for (let off = 0; ;) {
        const rec = readRecord(wal, off);
        if (rec === undefined) {
          if (off < wal.length) this.stats.tornRecords++;
          break;
        }
        const [name, key, value] = rec.value;
        if (value === null || value === undefined) state.get(name)?.delete(key);
        else ns(name).set(key, value);
        off = good = rec.next;
      }
    }
    this.#fd = openSync(this.#walPath, 'a+');
    if (fstatSync(this.#fd).size !== good) ftruncateSync(this.#fd, good);
    this.stats.walBytes = good;
    if (this.#fsync === 'interval') {
      this.#timer = setInterval(() => this.sync(), FSYNC_INTERVAL_MS);
      this.#timer.unref();
    }
    return state;
  }

  provide(ns: string, dump: () => Iterable<[string, unknown]>): void {
    this.#dumps.set(ns, dump);
  }

  put(ns: string, key: string, value: unknown): void {
    if (this.#fd < 0) throw createError('SIP_ERR_SNAPSHOT', 'journal not loaded');
    // pack() returns a view into msgpackr's arena: it is copied into the group right away
    const payload = packr.pack([ns, key, value ?? null]);
    const at = this.#groupBytes;
    const end = at + HEADER_BYTES + payload.length;
    if (end > this.#group.length) {
      const grown = Buffer.allocUnsafe(Math.max(end, 2 * this.#group.length));
      this.#group.copy(grown, 0, 0, at);
      this.#group = grown;
    }
    this.#group.writeUInt32BE(payload.length, at);
    this.#group.writeUInt32BE(crc32(payload), at + 4);
    this.#group.set(payload, at + HEADER_BYTES);
    this.#groupBytes = end;
    this.#groupRecords++;
    if (!this.#holding) this.flush();
  }

  /**
   * Keep the puts from now on in memory until flush(): one write(2) (and under 'always' one
   * fdatasync) for all of them. Whoever holds must flush before acting on any of them (sending the
   * answer a put stands behind) and before returning to the event loop.
   */
  hold(): void {
    this.#holding = true;
  }

  /** Write the held puts, if any, and stop holding. */
  flush(): void {
    this.#holding = false;
    if (this.#groupRecords === 0) return;
    const records = this.#groupRecords;
    const bytes = this.#groupBytes;
    this.#groupRecords = 0;
    this.#groupBytes = 0;
    try {
      writeAll(this.#fd, this.#group.subarray(0, bytes));
      this.stats.puts += records;
      this.stats.writes++;
      this.stats.walBytes += bytes;
      if (this.#fsync === 'always') fdatasyncSync(this.#fd);
      else this.#dirty = true;
    } catch (err) {
      this.stats.errors++;
      this.#opts.onError?.(err, 'journal write');
      return;
    } finally {
      if (this.#group.length > GROUP_BUFFER_BYTES) this.#group = Buffer.allocUnsafe(GROUP_BUFFER_BYTES);
    }
    if (this.stats.walBytes >= this.#compactBytes) this.compact();
  }

  /** fdatasync the log if anything was written since the last one. */
  sync(): void {
    if (!this.#dirty || this.#fd < 0) return;
    this.#dirty = false;
    try {
      fdatasyncSync(this.#fd);
    } catch (err) {
      this.stats.errors++;
      this.#opts.onError?.(err, 'journal fsync');
    }
  }

  /** Write the whole state as a snapshot (temp file, fsync, rename, fsync dir), then empty the log. */
  compact(): void {
    if (this.#fd < 0) return;
    // held records are older than the state compaction dumps: they go first, or they would be
    // replayed over it at the next start
    this.flush();
    const ns: Record<string, Array<[string, unknown]>> = {};
    for (const [name, dump] of this.#dumps) ns[name] = [...dump()];
    try {
      const tmp = `${this.#path}.tmp`;
      const fd = openSync(tmp, 'w');
      try {
        writeAll(fd, Buffer.from(packr.pack({ v: SNAPSHOT_VERSION, ns })));
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, this.#path);
      syncDir(dirname(this.#path));
      // Only now may the log go: until the rename it was the only copy of its records.
      ftruncateSync(this.#fd, 0);
      fdatasyncSync(this.#fd);
      this.#dirty = false;
      this.stats.walBytes = 0;
      this.stats.compactions++;
    } catch (err) {
      this.stats.errors++;
      this.#opts.onError?.(err, 'journal compaction');
    }
  }

  /** Compact and close: the next start reads one snapshot and an empty log. */
  close(): void {
    if (this.#fd < 0) return;
    if (this.#timer !== undefined) clearInterval(this.#timer);
    this.compact();
    closeSync(this.#fd);
    this.#fd = -1;
  }

  #readSnapshot(): Record<string, Array<[string, unknown]>> {
    let data: unknown;
    try {
      data = packr.unpack(readFileSync(this.#path));
    } catch (err) {
      throw createError('SIP_ERR_SNAPSHOT', `snapshot ${this.#path} unreadable: ${(err as Error).message}`);
    }
    const snap = data as { v?: unknown; ns?: unknown } | null;
    if (snap !== null && typeof snap === 'object' && snap.v === SNAPSHOT_VERSION && typeof snap.ns === 'object' && snap.ns !== null) {
      return snap.ns as Record<string, Array<[string, unknown]>>;
    }
    const migrated = this.#opts.migrate?.(data);
    if (migrated === undefined) throw createError('SIP_ERR_SNAPSHOT', `snapshot ${this.#path} has an unknown format`);
    return migrated;
  }
}

function readRecord(buf: Buffer, off: number): { value: [string, string, unknown]; next: number } | undefined {
  if (off + HEADER_BYTES > buf.length) return undefined;
  const len = buf.readUInt32BE(off);
  if (len > MAX_RECORD_BYTES || off + HEADER_BYTES + len > buf.length) return undefined;
  const payload = buf.subarray(off + HEADER_BYTES, off + HEADER_BYTES + len);
  if (crc32(payload) !== buf.readUInt32BE(off + 4)) return undefined;
  let value: unknown;
  try {
    value = packr.unpack(payload);
  } catch {
    return undefined;
  }
  if (!Array.isArray(value) || typeof value[0] !== 'string' || typeof value[1] !== 'string') return undefined;
  return { value: value as [string, string, unknown], next: off + HEADER_BYTES + len };
}

function writeAll(fd: number, buf: Buffer): void {
  for (let off = 0; off < buf.length;) off += writeSync(fd, buf, off, buf.length - off);
}

/** A rename is durable once its directory is: fsync the directory (not possible on every OS). */
function syncDir(dir: string): void {
  let fd = -1;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Windows and some filesystems refuse to fsync a directory; the rename is still atomic
  } finally {
    if (fd >= 0) closeSync(fd);
  }
}
