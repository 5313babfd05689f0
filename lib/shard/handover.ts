// Resharding, the shard's side (the main thread's side is lib/shard/resizer.ts).
//
// When the worker count changes from N to M, jump hashing moves some Call-IDs to other shards. On
// `reshard to M` this shard sorts the Call-IDs it holds state for and that now hash elsewhere:
// - no live transaction: its dialogs leave now (packed, msgpackr) and are dropped here;
// - live transactions: the Call-ID stays here, *pinned*, until its last transaction ends (or the
//   main thread's deadline asks for it), then it leaves the same way (`released`).
// A Call-ID that left is remembered for a while: a message for it that still reaches this shard
// (sent before the main thread learned of the release) goes back for re-dispatch instead of being
// handled here without its state.
import type { TxnWatch } from '../proxy/proxy-core.js';
import { peekCallId } from './callid-peek.js';
import type { MovedDialog, ReshardAnswer } from './channel.js';
import { shardFor } from './hash.js';

export interface HandoverDeps {
  shardId: number;
  /** live transactions per Call-ID */
  liveCallIds(): Map<string, number>;
  /** Call-IDs with dialogs on this shard */
  dialogCallIds(): Iterable<string>;
  /** remove the Call-ID's state here; its confirmed dialogs, packed, with their checkpoint keys */
  takeDialogs(callId: string): MovedDialog[];
  /** a pinned Call-ID left (last transaction ended, or the main thread's deadline) */
  released(callId: string, dialogs: MovedDialog[]): void;
  now(): number;
  /** how long a Call-ID that left is remembered (late messages go back), ms */
  goneMs: number;
}

export class Handover implements TxnWatch {
  /** read by the proxy core on each transaction start/end: true only while Call-IDs are pinned */
  active = false;
  /** pinned Call-ID -> live transactions */
  private readonly pins = new Map<string, number>();
  /** Call-ID that left -> until when (ms) a late message for it goes back */
  private readonly gone = new Map<string, number>();

  /** the worker count this shard was last told */
  private count: number;

  constructor(private readonly deps: HandoverDeps, shardCount: number) {
    this.count = shardCount;
  }

  get pinnedCount(): number {
    return this.pins.size;
  }

  /** The worker count is now `count`: what leaves now, what stays pinned. */
  plan(count: number): ReshardAnswer {
    const { shardId } = this.deps;
    this.count = count;
    this.prune();
    const live = this.deps.liveCallIds();
    const pinned: string[] = [];
    for (const [callId, n] of live) {
      if (shardFor(callId, count) === shardId) continue;
      this.pins.set(callId, n);
      pinned.push(callId);
    }
    const moved: MovedDialog[] = [];
    for (const callId of [...this.deps.dialogCallIds()]) {
      if (live.has(callId) || shardFor(callId, count) === shardId) continue;
      for (const m of this.deps.takeDialogs(callId)) moved.push(m);
      this.markGone(callId);
    }
    this.active = this.pins.size > 0;
    return { shardId, count, moved, pinned };
  }

  started(callId: string): void {
    const n = this.pins.get(callId);
    if (n !== undefined) this.pins.set(callId, n + 1);
  }

  ended(callId: string): void {
    const n = this.pins.get(callId);
    if (n === undefined) return;
    if (n > 1) this.pins.set(callId, n - 1);
    else this.release(callId);
  }

  /** The Call-ID leaves now, pinned or not (the main thread's deadline, or its last transaction ended). */
  release(callId: string): void {
    this.pins.delete(callId);
    this.active = this.pins.size > 0;
    const dialogs = this.deps.takeDialogs(callId);
    this.markGone(callId);
    this.deps.released(callId, dialogs);
  }

  /** A message for a Call-ID that left this shard: it must go back to the main thread. */
  isGone(data: Buffer): boolean {
    if (this.gone.size === 0) return false;
    const callId = peekCallId(data);
    if (callId === undefined) return false;
    const until = this.gone.get(callId);
    if (until === undefined) return false;
    // a later change of count may have brought it back here: then it is ours again (no ping-pong)
    if (until >= this.deps.now() && shardFor(callId, this.count) !== this.deps.shardId) return true;
    this.gone.delete(callId);
    return false;
  }

  private markGone(callId: string): void {
    this.gone.set(callId, this.deps.now() + this.deps.goneMs);
  }

  private prune(): void {
    const now = this.deps.now();
    for (const [callId, until] of this.gone) if (until < now || shardFor(callId, this.count) === this.deps.shardId) this.gone.delete(callId);
  }
}
