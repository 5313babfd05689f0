// INVITE server transaction (RFC 3261 17.2.1 with RFC 6026's Accepted state).
import type { SendTarget } from '../transport/types.js';
import { isReliable, terminateTxn, type TxnContext } from './context.js';
import type { Timer } from './timers.js';

export type InviteServerState = 'proceeding' | 'completed' | 'confirmed' | 'accepted' | 'terminated';

/** `O`: what the owner keeps per transaction (the proxy core's response context), held in `owner`. */
export class InviteServerTxn<O = unknown> {
  state: InviteServerState = 'proceeding';
  lastResponse: Buffer | undefined;
  /** set by the proxy core: which call the transaction belongs to (resharding pins Call-IDs) */
  callId = '';
  /** the owner's state for this transaction: a field, not an entry in a Map keyed by the transaction */
  owner: O | undefined = undefined;
  private timerG: Timer | undefined;
  private timerH: Timer | undefined;
  private gInterval: number;

  constructor(
    private readonly ctx: TxnContext,
    readonly key: string,
    readonly source: SendTarget,
    private readonly onTerminated: (txn: InviteServerTxn<O>) => void,
  ) {
    this.gInterval = ctx.times.t1Ms;
  }

  /** The core sends a response through the transaction. */
  respond(status: number, data: Buffer): void {
    if (this.state === 'terminated' || this.state === 'completed' || this.state === 'confirmed') return;
    if (this.state === 'accepted') {
      if (status >= 200 && status < 300) this.ctx.send(this.source, data); // RFC 6026 7.1: further 2xx pass
      return;
    }
    this.lastResponse = data;
    this.ctx.send(this.source, data);
    if (status < 200) return;
    const { timers, times } = this.ctx;
    if (status < 300) {
      this.state = 'accepted';
      this.lastResponse = undefined; // Accepted never re-sends it (further 2xx come from the core)
      timers.schedule(64 * times.t1Ms, terminateTxn, this); // Timer L
      return;
    }
    this.state = 'completed';
    if (!isReliable(this.source)) this.timerG = timers.schedule(this.gInterval, InviteServerTxn.fireG, this);
    this.timerH = timers.schedule(64 * times.t1Ms, terminateTxn, this);
  }

  /** A retransmitted INVITE: re-send the last response (absorbed in Accepted, RFC 6026 7.1). */
  onRetransmission(): void {
    if ((this.state === 'proceeding' || this.state === 'completed') && this.lastResponse !== undefined) {
      this.ctx.send(this.source, this.lastResponse);
    }
  }

  /** ACK for a non-2xx final response ends the exchange hop by hop. */
  onAck(): void {
    if (this.state !== 'completed') return;
    this.state = 'confirmed';
    this.ctx.timers.cancel(this.timerG);
    this.ctx.timers.cancel(this.timerH);
    const i = isReliable(this.source) ? 0 : this.ctx.times.t4Ms;
    this.ctx.timers.schedule(i, terminateTxn, this);
  }

  private fireG(): void {
    if (this.state !== 'completed' || this.lastResponse === undefined) return;
    this.ctx.send(this.source, this.lastResponse);
    this.gInterval = Math.min(2 * this.gInterval, this.ctx.times.t2Ms);
    this.timerG = this.ctx.timers.schedule(this.gInterval, InviteServerTxn.fireG, this);
  }

  // shared by every transaction (the timer passes the transaction): no closure per timer
  private static fireG<O>(txn: InviteServerTxn<O>): void {
    txn.fireG();
  }

  terminate(): void {
    if (this.state === 'terminated') return;
    this.state = 'terminated';
    this.lastResponse = undefined;
    this.ctx.timers.cancel(this.timerG);
    this.ctx.timers.cancel(this.timerH);
    this.onTerminated(this);
  }
}
