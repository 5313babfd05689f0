// INVITE client transaction (RFC 3261 17.1.1 with RFC 6026's Accepted state).
import type { SipMessage } from '../sip/message.js';
import type { SendTarget } from '../transport/types.js';
import { buildNon2xxAck } from './ack.js';
import type { ClientTxnUser } from './client-user.js';
import { isReliable, terminateTxn, type TxnContext } from './context.js';
import type { Timer } from './timers.js';

export type InviteClientState = 'calling' | 'proceeding' | 'completed' | 'accepted' | 'terminated';

/** `O`: what the owner keeps per transaction (the proxy core's branch), held in `owner`. */
export class InviteClientTxn<O = unknown> {
  state: InviteClientState = 'calling';
  /** set by the proxy core: which call the transaction belongs to (resharding pins Call-IDs) */
  callId = '';
  /** the owner's state for this transaction: a field, not an entry in a Map keyed by the transaction */
  owner: O | undefined = undefined;
  private timerA: Timer | undefined;
  private timerB: Timer | undefined;
  private aInterval: number;
  private ack: Buffer | undefined;

  constructor(
    private readonly ctx: TxnContext,
    readonly key: string,
    /** the forwarded request, for the ACK of a non-2xx; released at the first final response */
    private request: SipMessage | undefined,
    private data: Buffer | undefined,
    readonly target: SendTarget,
    private readonly user: ClientTxnUser<InviteClientTxn<O>>,
    private readonly onTerminated: (txn: InviteClientTxn<O>) => void,
  ) {
    this.aInterval = ctx.times.t1Ms;
  }

  start(): void {
    if (this.data === undefined) return;
    this.ctx.send(this.target, this.data);
    if (!isReliable(this.target)) this.timerA = this.ctx.timers.schedule(this.aInterval, InviteClientTxn.fireA, this);
    this.timerB = this.ctx.timers.schedule(64 * this.ctx.times.t1Ms, InviteClientTxn.fireB, this);
  }

  // shared by every transaction (the timer passes the transaction): no closure per timer
  private static fireA<O>(txn: InviteClientTxn<O>): void {
    txn.fireA();
  }

  private static fireB<O>(txn: InviteClientTxn<O>): void {
    if (txn.state !== 'calling') return;
    txn.user.onTimeout(txn);
    txn.terminate();
  }

  receive(res: SipMessage): void {
    const status = res.status;
    switch (this.state) {
      case 'calling':
      case 'proceeding':
        this.ctx.timers.cancel(this.timerA);
        this.timerA = undefined;
        this.data = undefined; // only Timer A (Calling) re-sends the request: release its bytes
        if (status < 200) {
          this.state = 'proceeding';
          this.ctx.timers.cancel(this.timerB);
        } else if (status < 300) {
          this.state = 'accepted';
          this.request = undefined; // Accepted sends nothing of its own (RFC 6026 7.2)
          this.ctx.timers.cancel(this.timerB);
          this.timerB = undefined;
          this.ctx.timers.schedule(64 * this.ctx.times.t1Ms, terminateTxn, this); // Timer M
        } else {
          this.state = 'completed';
          this.ctx.timers.cancel(this.timerB);
          // the request is set until the first final response: this is it
          if (this.request !== undefined) this.ctx.send(this.target, (this.ack = buildNon2xxAck(this.request, res).toBuffer()));
          this.request = undefined;
          const d = isReliable(this.target) ? 0 : 32_000; // Timer D
          this.ctx.timers.schedule(d, terminateTxn, this);
        }
        this.user.onResponse(this, res);
        return;
      case 'completed':
        if (status >= 300 && this.ack !== undefined) this.ctx.send(this.target, this.ack);
        return;
      case 'accepted':
        if (status >= 200 && status < 300) this.user.onResponse(this, res); // 2xx retransmissions go upstream
        return;
      default:
    }
  }

  private fireA(): void {
    if (this.state !== 'calling' || this.data === undefined) return;
    this.ctx.send(this.target, this.data);
    this.aInterval *= 2;
    this.timerA = this.ctx.timers.schedule(this.aInterval, InviteClientTxn.fireA, this);
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.ctx.timers.cancel(this.timerA);
    this.ctx.timers.cancel(this.timerB);
    this.onTerminated(this);
  }
}
