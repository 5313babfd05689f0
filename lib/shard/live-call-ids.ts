// Live transactions per Call-ID, kept all the time by the shard on the main thread beside the
// workers (`shard.placement: load`): the main thread asks it, message by message, whether a Call-ID
// is already there (lib/shard/call-placement.ts). A worker counts them only while resharding pins
// Call-IDs (lib/shard/handover.ts): this is the same watch, never switched off.
import type { TxnWatch } from '../proxy/proxy-core.js';

export class LiveCallIds implements TxnWatch {
  /** always on: the proxy core reports every transaction's start and end */
  readonly active = true;
  private readonly live = new Map<string, number>();

  started(callId: string): void {
    this.live.set(callId, (this.live.get(callId) ?? 0) + 1);
  }

  ended(callId: string): void {
    const n = this.live.get(callId);
    if (n === undefined) return;
    if (n > 1) this.live.set(callId, n - 1);
    else this.live.delete(callId);
  }

  has(callId: string): boolean {
    return this.live.has(callId);
  }

  /** Call-IDs with at least one live transaction. */
  get size(): number {
    return this.live.size;
  }
}
