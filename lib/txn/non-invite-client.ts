// Non-INVITE client transaction (RFC 3261 17.1.2).
import type { SipMessage } from '../sip/message.js';
import type { SendTarget } from '../transport/types.js';
import type { ClientTxnUser } from './client-user.js';
import { isReliable, terminateTxn, type TxnContext } from './context.js';
import type { Timer } from './timers.js';

export type NonInviteClientState = 'trying' | 'proceeding' | 'completed' | 'terminated';

/** `O`: what the owner keeps per transaction (the proxy core's branch), held in `owner`. */
export class NonInviteClientTxn<O = unknown> {
  state: NonInviteClientState = 'trying';
  /** set by the proxy core: which call the transaction belongs to (resharding pins Call-IDs) */
  callId = '';
  /** the owner's state for this transaction: a field, not an entry in a Map keyed by the transaction */
  owner: O | undefined = undefined;
  private timerE: Timer | undefined;
  private timerF: Timer | undefined;
  private eInterval: number;

  constructor(
    private readonly ctx: TxnContext,
    readonly key: string,
    /** the request's bytes (it is never re-built: Completed only absorbs, RFC 3261 17.1.2.2) */
    private data: Buffer | undefined,
    readonly target: SendTarget,
    private readonly user: ClientTxnUser<NonInviteClientTxn<O>>,
    private readonly onTerminated: (txn: NonInviteClientTxn<O>) => void,
  ) {
    this.eInterval = ctx.times.t1Ms;
  }

  start(): void {
    if (this.data === undefined) return;
    this.ctx.send(this.target, this.data);
    if (!isReliable(this.target)) this.timerE = this.ctx.timers.schedule(this.eInterval, NonInviteClientTxn.fireE, this);
    this.timerF = this.ctx.timers.schedule(64 * this.ctx.times.t1Ms, NonInviteClientTxn.fireF, this);
  }

  // shared by every transaction (the timer passes the transaction): no closure per timer
  private static fireE<O>(txn: NonInviteClientTxn<O>): void {
    txn.fireE();
  }

  private static fireF<O>(txn: NonInviteClientTxn<O>): void {
    if (txn.state !== 'trying' && txn.state !== 'proceeding') return;
    txn.user.onTimeout(txn);
    txn.terminate();
  }

  receive(res: SipMessage): void {
    if (this.state !== 'trying' && this.state !== 'proceeding') return; // Completed absorbs retransmissions
    if (res.status < 200) {
      this.state = 'proceeding';
    } else {
      this.state = 'completed';
      this.data = undefined; // Completed only absorbs: the request's bytes are no longer needed
      this.ctx.timers.cancel(this.timerE);
      this.ctx.timers.cancel(this.timerF);
      const k = isReliable(this.target) ? 0 : this.ctx.times.t4Ms; // Timer K
      this.ctx.timers.schedule(k, terminateTxn, this);
    }
    this.user.onResponse(this, res);
  }

  private fireE(): void {
    if ((this.state !== 'trying' && this.state !== 'proceeding') || this.data === undefined) return;
    this.ctx.send(this.target, this.data);
    this.eInterval = this.state === 'proceeding' ? this.ctx.times.t2Ms : Math.min(2 * this.eInterval, this.ctx.times.t2Ms);
    this.timerE = this.ctx.timers.schedule(this.eInterval, NonInviteClientTxn.fireE, this);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.ctx.timers.cancel(this.timerE);
    this.ctx.timers.cancel(this.timerF);
    this.onTerminated(this);
  }
}
