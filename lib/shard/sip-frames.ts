// SIP messages of one batch packed into one transferable ArrayBuffer, both directions of the shard
// channel. Structured-cloning an array of {d: Uint8Array, s: SendTarget} objects cost an ArrayBuffer,
// a view and a target object per message on each side; here a run of messages is one ArrayBuffer
// (moved, not copied, by postMessage) plus the few distinct targets of the run, cloned once each.
//
// Frame layout, repeated: [u16 target index into `tg`][u32 length][length bytes], little-endian.
import type { SendTarget } from '../transport/types.js';
import type { FromShard } from './channel.js';

/** A run of SIP messages in one channel item; `tg` holds each distinct target of the run once. */
export interface PackedSip {
  t: 'sipb';
  b: ArrayBuffer;
  tg: SendTarget[];
}

const HEADER = 6;
/** u16 target index: a run with this many distinct targets is closed and a new one begun */
const MAX_TARGETS = 0xffff;

/** Collects messages in arrival order, then writes them into one ArrayBuffer at close(). */
export class SipRunWriter {
  private data: Uint8Array[] = [];
  private idx: number[] = [];
  private targets: SendTarget[] = [];
  /** by object identity: the callers hand the same (interned) target object for the same peer */
  private readonly targetIdx = new Map<SendTarget, number>();
  private bytes = 0;

  get count(): number {
    return this.data.length;
  }

  /** False when the run is full (too many distinct targets): close it and add again. */
  add(data: Uint8Array, target: SendTarget): boolean {
    let i = this.targetIdx.get(target);
    if (i === undefined) {
      if (this.targets.length >= MAX_TARGETS) return false;
      i = this.targets.length;
      this.targets.push(target);
      this.targetIdx.set(target, i);
    }
    this.data.push(data);
    this.idx.push(i);
    this.bytes += HEADER + data.byteLength;
    return true;
  }

  /** The packed run (the writer starts empty again), or undefined when nothing was added. */
  close(): PackedSip | undefined {
    const n = this.data.length;
    if (n === 0) return undefined;
    const b = new ArrayBuffer(this.bytes);
    const out = new Uint8Array(b);
    let pos = 0;
    for (let k = 0; k < n; k++) {
      const d = this.data[k]!;
      const i = this.idx[k]!;
      const len = d.byteLength;
      out[pos] = i & 0xff;
      out[pos + 1] = i >>> 8;
      out[pos + 2] = len & 0xff;
      out[pos + 3] = (len >>> 8) & 0xff;
      out[pos + 4] = (len >>> 16) & 0xff;
      out[pos + 5] = len >>> 24;
      out.set(d, pos + HEADER);
      pos += HEADER + len;
    }
    const packed: PackedSip = { t: 'sipb', b, tg: this.targets };
    this.data = [];
    this.idx = [];
    this.targets = [];
    this.targetIdx.clear();
    this.bytes = 0;
    return packed;
  }
}

/**
 * Calls fn for each message of a packed run with a Buffer view into the run's ArrayBuffer (valid as
 * long as the caller keeps it; copy what outlives the call) and its target; with `pick`, only for the
 * frames it accepts (by target index and the frame's byte offset), with no view made for the others.
 */
export function forEachSip(p: PackedSip, fn: (data: Buffer, target: SendTarget) => void,
  pick?: (targetIndex: number, frameOffset: number) => boolean): void {
  const all = new Uint8Array(p.b);
  const end = all.byteLength;
  let pos = 0;
  while (pos + HEADER <= end) {
    const at = pos;
    const i = all[pos]! | (all[pos + 1]! << 8);
    const len = (all[pos + 2]! | (all[pos + 3]! << 8) | (all[pos + 4]! << 16) | (all[pos + 5]! << 24)) >>> 0;
    const start = pos + HEADER;
    pos = start + len;
    if (pos > end) return; // truncated: cannot come from SipRunWriter
    if (pick === undefined || pick(i, at)) fn(Buffer.from(p.b, start, len), p.tg[i]!);
  }
}

/**
 * Packs every SIP item of a batch into one run (one ArrayBuffer, one postMessage transfer) placed
 * after the batch's other items; pushes the packed buffer onto `transfer`. The shard->main
 * direction: a shard's batch interleaves sends with control items (a dialog checkpoint at every
 * confirmed or ended call, bindings, peer states), and closing a run at each of them cost an
 * ArrayBuffer, a transfer and a cloned target list per piece on both threads.
 *
 * Order guarantees, relied on by the main thread (lib/server.ts onBatch):
 * - sends keep their order among themselves (and so per destination);
 * - control items keep their order among themselves;
 * - every control item of a batch is handled before any send of that batch: state the shard
 *   produced before or while producing a send (a binding written to the location journal before
 *   its REGISTER's 200, a dialog checkpoint before its 200 or BYE relayed) is applied first. No
 *   control item depends on a send of its batch having gone out.
 * Only a run with 65,535 distinct destinations is split; the pieces follow each other at the end.
 */
export function packSipAfterControl<T extends { t: string }>(
  items: readonly T[],
  dataOf: (item: T) => Uint8Array | undefined,
  targetOf: (item: T) => SendTarget,
  writer: SipRunWriter,
  transfer: ArrayBuffer[],
): Array<T | PackedSip> {
  const out: Array<T | PackedSip> = [];
  const runs: PackedSip[] = [];
  for (const item of items) {
    const d = dataOf(item);
    if (d === undefined) out.push(item);
    else if (!writer.add(d, targetOf(item))) {
      runs.push(writer.close()!);
      writer.add(d, targetOf(item));
    }
  }
  const last = writer.close();
  if (last !== undefined) runs.push(last);
  for (const p of runs) {
    out.push(p);
    transfer.push(p.b);
  }
  return out;
}

/** packSipAfterControl's accessors for a shard's outgoing items: a send's bytes (undefined for a
 *  control item) and its destination. */
export const shardSendData = (item: FromShard): Uint8Array | undefined => (item.t === 'sip' ? item.d : undefined);
export const shardSendTarget = (item: FromShard): SendTarget => (item as { to: SendTarget }).to;
