// Non-INVITE server transaction (RFC 3261 17.2.2).
import type { SendTarget } from '../transport/types.js';
import type { CompletedTxnStore } from './completed-store.js';
import { isReliable, terminateTxn, type TxnContext } from './context.js';
import type { Timer } from './timers.js';

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** `O`: what the owner keeps per transaction (the proxy core's response context), held in `owner`. */
export class NonInviteServerTxn<O = unknown> {
  state: NonInviteServerState = 'trying';
  lastResponse: Buffer | undefined;
  /** set by the proxy core: which call the transaction belongs to (resharding pins Call-IDs) */
  callId = '';
  /** the owner's state for this transaction: a field, not an entry in a Map keyed by the transaction */
  owner: O | undefined = undefined;
  private timerJ: Timer | undefined;
  /** when the final response went (Timer J runs from then, wherever the transaction is held) */
  private completedAt = 0;

  /**
   * `onTerminated(txn, kept)`: kept is true when the transaction ended by handing its Completed
   * state to `completed` (which then answers retransmissions until Timer J).
   */
  constructor(
    private readonly ctx: TxnContext,
    readonly key: string,
    readonly source: SendTarget,
    private readonly onTerminated: (txn: NonInviteServerTxn<O>, kept: boolean) => void,
    private readonly completed?: CompletedTxnStore,
  ) {}

  respond(status: number, data: Buffer): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    this.lastResponse = data;
    this.ctx.send(this.source, data);
    if (status < 200) { this.state = 'proceeding'; return; }
    this.state = 'completed';
    this.completedAt = this.ctx.timers.clock.now();
    if (isReliable(this.source)) { this.ctx.timers.schedule(0, terminateTxn, this); return; } // Timer J: 0
    // an owner still holding its state (a forked request's other branches) hands off when it lets go
    if (this.owner === undefined && this.handOff()) return;
    this.timerJ = this.ctx.timers.schedule(this.timerJMs, terminateTxn, this);
  }

  /** Timer J over UDP (RFC 3261 17.2.2), however the Completed state is held */
  private get timerJMs(): number {
    return 64 * this.ctx.times.t1Ms;
  }

  /**
   * Completed over UDP: the final response goes to the store, which answers retransmissions
   * until Timer J, and this object ends now (nothing of it is held for 32 s). False if the store
   * cannot keep it: the transaction then stays as it is.
   */
  handOff(): boolean {
    if (this.state !== 'completed' || this.completed === undefined || this.lastResponse === undefined || isReliable(this.source)) return false;
    const hold = this.completedAt + this.timerJMs - this.ctx.timers.clock.now();
    if (hold <= 0 || !this.completed.keep(this.key, this.callId, this.lastResponse, hold)) return false;
    this.ctx.timers.cancel(this.timerJ);
    this.timerJ = undefined;
    this.lastResponse = undefined;
    this.state = 'terminated';
    this.onTerminated(this, true);
    return true;
  }

  /**
   * A final response with no Completed state after it (RFC 3261 8.2.7: a UAS may answer a request
   * statelessly, most commonly with a challenge): a retransmission of the request is then handled
   * as a new one and gets a fresh challenge, and nothing is held for Timer J.
   */
  respondAndEnd(data: Buffer): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    this.ctx.send(this.source, data);
    this.terminate();
  }

  onRetransmission(): void {
    if (this.lastResponse !== undefined && this.state !== 'terminated') this.ctx.send(this.source, this.lastResponse);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.onTerminated(this, false);
  }
}
