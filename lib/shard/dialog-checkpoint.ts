// Crash recovery of confirmed dialogs, and the state that moves with a Call-ID when the worker
// count changes (lib/shard/resizer.ts) (DESIGN.md: msgpackr for state that leaves a thread). A shard
// packs each confirmed dialog when it appears or changes and sends the bytes to the main thread,
// which keeps the latest per shard; a replacement shard starts from them, so calls that were up
// when their shard died can still be ended with BYE (also by UAs that ignore Record-Route).
import { Packr } from 'msgpackr';
import type { Dialog } from '../dialog/dialog-table.js';
import type { SendTarget } from '../transport/types.js';

// Fixed on both sides: decoding with another useRecords setting than encoding misreads the data.
const packr = new Packr({ useRecords: false });

// A confirmed dialog as a tuple (no key names: the main thread keeps one per held call). Version 1.
type Packed = [1, string, string, string, string | null, PackedTarget, string | null, PackedTarget, number, number | null];
type PackedTarget = [SendTarget['transport'], string, number, number | null, string | null];

const packTarget = (t: SendTarget): PackedTarget => [t.transport, t.address, t.port, t.connId ?? null, t.host ?? null];
function unpackTarget(p: PackedTarget): SendTarget {
  const t: SendTarget = { transport: p[0], address: p[1], port: p[2] };
  if (p[3] !== null) t.connId = p[3];
  if (p[4] !== null) t.host = p[4];
  return t;
}

export function packDialog(d: Dialog): Uint8Array {
  return writeTuple(d) ?? packWithPackr(d);
}

/** The same tuple through msgpackr (the reference writeTuple is tested against). */
export function packWithPackr(d: Dialog): Uint8Array {
  const p: Packed = [1, d.callId, d.callerTag, d.calleeTag, d.callerContact ?? null, packTarget(d.callerDest),
    d.calleeContact ?? null, packTarget(d.calleeDest), d.createdAt, d.confirmedAt ?? null];
  // pack() returns a view into msgpackr's arena: copy into an ArrayBuffer of its own (a pooled
  // Buffer would make postMessage clone the whole pool)
  return new Uint8Array(packr.pack(p));
}

// A shard packs every dialog it confirms: the tuple is written straight into a scratch buffer (the
// bytes msgpackr would write, checked by test/shard/dialog-compact.test.ts) instead of through
// msgpackr's general encoder, then copied out into an ArrayBuffer of its own.
const scratch = Buffer.allocUnsafeSlow(2048);
let at = 0;

/** The checkpoint bytes, or undefined when they might not fit the scratch buffer (msgpackr then). */
function writeTuple(d: Dialog): Uint8Array | undefined {
  const strings = d.callId.length + d.callerTag.length + d.calleeTag.length + (d.callerContact?.length ?? 0) + (d.calleeContact?.length ?? 0) +
    d.callerDest.address.length + (d.callerDest.host?.length ?? 0) + d.calleeDest.address.length + (d.calleeDest.host?.length ?? 0);
  // UTF-8: at most 3 bytes per UTF-16 unit, 5 of header per string; 9 per number; array headers
  if (strings * 3 + 9 * 5 + 9 * 6 + 8 > scratch.length) return undefined;
  at = 0;
  scratch[at++] = 0x9a; // fixarray of 10
  scratch[at++] = 1;
  writeString(d.callId);
  writeString(d.callerTag);
  writeString(d.calleeTag);
  writeOptionalString(d.callerContact);
  writeTarget(d.callerDest);
  writeOptionalString(d.calleeContact);
  writeTarget(d.calleeDest);
  writeNumber(d.createdAt);
  if (d.confirmedAt === undefined) scratch[at++] = 0xc0;
  else writeNumber(d.confirmedAt);
  return new Uint8Array(scratch.subarray(0, at));
}

function writeTarget(t: SendTarget): void {
  scratch[at++] = 0x95; // fixarray of 5
  writeString(t.transport);
  writeString(t.address);
  writeNumber(t.port);
  if (t.connId === undefined) scratch[at++] = 0xc0;
  else writeNumber(t.connId);
  writeOptionalString(t.host);
}

function writeOptionalString(s: string | undefined): void {
  if (s === undefined) scratch[at++] = 0xc0;
  else writeString(s);
}

/** msgpack str (fixstr, str 8, str 16): UTF-8, an ASCII string byte by byte. */
function writeString(s: string): void {
  let ascii = true;
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) >= 0x80) { ascii = false; break; }
  const length = ascii ? s.length : Buffer.byteLength(s, 'utf8');
  if (length < 0x20) scratch[at++] = 0xa0 | length;
  else if (length < 0x100) { scratch[at++] = 0xd9; scratch[at++] = length; }
  else { scratch[at++] = 0xda; scratch[at++] = length >> 8; scratch[at++] = length & 0xff; }
  if (ascii) for (let i = 0; i < s.length; i++) scratch[at++] = s.charCodeAt(i);
  else at += scratch.write(s, at, 'utf8');
}

/** msgpack number as msgpackr writes it with useRecords false: fixint below 0x80, uint 8/16/32, int, else float 64. */
function writeNumber(n: number): void {
  if (n >>> 0 === n) {
    if (n < 0x80) scratch[at++] = n;
    else if (n < 0x100) { scratch[at++] = 0xcc; scratch[at++] = n; }
    else if (n < 0x10000) { scratch[at++] = 0xcd; scratch[at++] = n >> 8; scratch[at++] = n & 0xff; }
    else { scratch[at++] = 0xce; at = scratch.writeUInt32BE(n, at); }
  } else if (n >> 0 === n) {
    if (n >= -0x20) scratch[at++] = 0x100 + n;
    else if (n >= -0x80) { scratch[at++] = 0xd0; scratch[at++] = n + 0x100; }
    else if (n >= -0x8000) { scratch[at++] = 0xd1; at = scratch.writeInt16BE(n, at); }
    else { scratch[at++] = 0xd2; at = scratch.writeInt32BE(n, at); }
  } else {
    scratch[at++] = 0xcb;
    at = scratch.writeDoubleBE(n, at);
  }
}

export function unpackDialog(bytes: Uint8Array): Dialog | undefined {
  try {
    const p = packr.unpack(bytes) as Packed;
    if (!Array.isArray(p) || p[0] !== 1 || typeof p[1] !== 'string' || typeof p[2] !== 'string' || typeof p[3] !== 'string') return undefined;
    return {
      callId: p[1], callerTag: p[2], calleeTag: p[3], state: 'confirmed',
      callerContact: p[4] ?? undefined, callerDest: unpackTarget(p[5]),
      calleeContact: p[6] ?? undefined, calleeDest: unpackTarget(p[7]),
      createdAt: p[8], confirmedAt: p[9] ?? undefined,
    };
  } catch {
    return undefined;
  }
}

/**
 * The main thread's latest checkpoint of every confirmed dialog, per shard. Each is kept as a
 * one-byte string of its bytes: a Uint8Array costs an ArrayBuffer, a backing store and two objects
 * (about 330 B for a 146-byte checkpoint), the string 16 B of header (measured with
 * bench/dialog-memory.ts; the main thread holds one per held call).
 */
export class DialogCheckpoints {
  readonly #byShard = new Map<number, Map<string, string>>();

  apply(shardId: number, key: string, bytes: Uint8Array | null): void {
    let m = this.#byShard.get(shardId);
    if (bytes === null) { m?.delete(key); return; }
    if (m === undefined) this.#byShard.set(shardId, (m = new Map()));
    m.set(key, Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1'));
  }

  /** Every checkpoint of a shard, removed here (a retiring shard died: its calls go to their new owners). */
  take(shardId: number): Array<[string, Uint8Array]> {
    const m = this.#byShard.get(shardId);
    this.#byShard.delete(shardId);
    return m === undefined ? [] : [...m.entries()].map(([k, s]) => [k, toBytes(s)]);
  }

  /** What a (replacement) shard starts from: each in an ArrayBuffer of its own (posted to a thread). */
  forShard(shardId: number): Uint8Array[] {
    const out: Uint8Array[] = [];
    for (const s of this.#byShard.get(shardId)?.values() ?? []) out.push(toBytes(s));
    return out;
  }

  get size(): number {
    let n = 0;
    for (const m of this.#byShard.values()) n += m.size;
    return n;
  }
}

/** A stored checkpoint (latin1 string: one heap object, no ArrayBuffer each) back as bytes of its own. */
function toBytes(s: string): Uint8Array {
  const u = new Uint8Array(s.length);
  Buffer.from(u.buffer, u.byteOffset, u.byteLength).write(s, 'latin1');
  return u;
}
