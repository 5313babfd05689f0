// The shard on the main thread (`workers: 0`): the ShardRuntime a worker thread runs, fed by calls
// instead of a MessagePort. Nothing crosses a thread, so nothing wakes one: at low and middling
// call rates on a small machine that wake-up is most of what a call costs (bench/PERFORMANCE.md,
// round 14); the price is one CPU for everything, sockets and SIP alike.
import type { FromShardBatch, ShardInit, ToShard } from './channel.js';
import type { ShardRuntime } from './shard-runtime.js';
import { startShardRuntime } from './shard-start.js';

export class InlineShard {
  private readonly runtime: ShardRuntime;
  /** batches posted and not yet handled, oldest first */
  private readonly inbox: ToShard[][] = [];
  private scheduled = false;
  private stopped = false;
  /** batches, timers and dialog sweeps whose handling threw (a worker thread would have died and been replaced) */
  errors = 0;

  /** `onBatch`: the shard's answer, packed and ordered as a worker's arrives (shard-start.ts). */
  constructor(init: ShardInit, warmUp: boolean, onBatch: (batch: FromShardBatch) => void) {
    this.runtime = startShardRuntime(init, warmUp, onBatch);
    // a transaction timer that throws would end the process here: count it, log it, go on
    this.runtime.timers.onError = (err) => {
      this.errors++;
      this.runtime.log.error({ err }, 'a timer of the shard on the main thread failed; the shard goes on (a worker thread would have died and been replaced)');
    };
  }

  /**
   * Queue a batch; it is handled once the caller's task is done (a microtask), never inside the
   * caller: the answer's handler posts again, and the runtime is not re-entrant.
   */
  post(items: ToShard[]): void {
    if (this.stopped) return;
    if (items.length === 1 && items[0]!.t === 'stop') { this.stop(); return; }
    this.inbox.push(items);
    if (!this.scheduled) {
      this.scheduled = true;
      queueMicrotask(this.drain);
    }
  }

  private readonly drain = (): void => {
    this.scheduled = false;
    while (this.inbox.length > 0 && !this.stopped) {
      const items = this.inbox.shift()!;
      try {
        this.runtime.handleBatch(items.some(isCrash) ? items.filter((i) => !isCrash(i)) : items);
      } catch (err) {
        // the thread is the proxy's own: keep it and the shard's state, drop this batch's rest
        this.errors++;
        this.runtime.log.error({ err }, 'shard on the main thread failed on a batch; its remaining messages are dropped (peers retransmit)');
      }
    }
  };

  /** The shard holds state for the Call-ID (ShardRuntime.owns). */
  owns(callId: string): boolean {
    return this.runtime.owns(callId);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.inbox.length = 0;
    this.runtime.stop();
  }
}

/** The test hook 'crash' kills a worker thread; on the main thread it would kill the proxy. */
function isCrash(item: ToShard): boolean {
  return item.t === 'crash';
}
