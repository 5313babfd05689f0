// Crash recovery of confirmed dialogs (DESIGN.md: msgpackr for state that leaves a thread). A shard
// packs each confirmed dialog when it appears or changes and sends the bytes to the main thread,
// which keeps the latest per shard; a replacement shard starts from them, so calls that were up
// when their shard died can still be ended with BYE (also by UAs that ignore Record-Route).
import { Packr } from 'msgpackr';
import type { Dialog } from '../dialog/dialog-table.js';

// Fixed on both sides: decoding with another useRecords setting than encoding misreads the data.
const packr = new Packr({ useRecords: false });

export function packDialog(d: Dialog): Uint8Array {
  // pack() returns a view into msgpackr's arena: copy into an ArrayBuffer of its own (a pooled
  // Buffer would make postMessage clone the whole pool)
  return new Uint8Array(packr.pack(d));
}

export function unpackDialog(bytes: Uint8Array): Dialog | undefined {
  try {
    const d = packr.unpack(bytes) as Dialog;
    return typeof d?.callId === 'string' && typeof d.callerTag === 'string' && typeof d.calleeTag === 'string' ? d : undefined;
  } catch {
    return undefined;
  }
}

/** The main thread's latest checkpoint of every confirmed dialog, per shard. */
export class DialogCheckpoints {
  readonly #byShard = new Map<number, Map<string, Uint8Array>>();

  apply(shardId: number, key: string, bytes: Uint8Array | null): void {
    let m = this.#byShard.get(shardId);
    if (bytes === null) { m?.delete(key); return; }
    if (m === undefined) this.#byShard.set(shardId, (m = new Map()));
    m.set(key, bytes);
  }

  /** What a (replacement) shard starts from. */
  forShard(shardId: number): Uint8Array[] {
    return [...(this.#byShard.get(shardId)?.values() ?? [])];
  }

  get size(): number {
    let n = 0;
    for (const m of this.#byShard.values()) n += m.size;
    return n;
  }
}
