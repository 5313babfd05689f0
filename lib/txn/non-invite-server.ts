// Non-INVITE server transaction (RFC 3261 17.2.2).
import type { SendTarget } from '../transport/types.js';
import { isReliable, terminateTxn, type TxnContext } from './context.js';

export type NonInviteServerState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** `O`: what the owner keeps per transaction (the proxy core's response context), held in `owner`. */
export class NonInviteServerTxn<O = unknown> {
  state: NonInviteServerState = 'trying';
  lastResponse: Buffer | undefined;
  /** set by the proxy core: which call the transaction belongs to (resharding pins Call-IDs) */
  callId = '';
  /** the owner's state for this transaction: a field, not an entry in a Map keyed by the transaction */
  owner: O | undefined = undefined;

  constructor(
    private readonly ctx: TxnContext,
    readonly key: string,
    readonly source: SendTarget,
    private readonly onTerminated: (txn: NonInviteServerTxn<O>) => void,
  ) {}

  respond(status: number, data: Buffer): void {
    if (this.state === 'completed' || this.state === 'terminated') return;
    this.lastResponse = data;
    this.ctx.send(this.source, data);
    if (status < 200) { this.state = 'proceeding'; return; }
    this.state = 'completed';
    const j = isReliable(this.source) ? 0 : 64 * this.ctx.times.t1Ms; // Timer J
    this.ctx.timers.schedule(j, terminateTxn, this);
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
    this.onTerminated(this);
  }
}
