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
  const p: Packed = [1, d.callId, d.callerTag, d.calleeTag, d.callerContact ?? null, packTarget(d.callerDest),
    d.calleeContact ?? null, packTarget(d.calleeDest), d.createdAt, d.confirmedAt ?? null];
  // pack() returns a view into msgpackr's arena: copy into an ArrayBuffer of its own (a pooled
  // Buffer would make postMessage clone the whole pool)
  return new Uint8Array(packr.pack(p));
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
