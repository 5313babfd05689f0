// Non-INVITE requests the proxy sends on its own behalf (line REGISTERs, trunk OPTIONS pings): a
// client transaction each, with our Via; their responses are matched here before the proxy core
// would relay them statelessly.
import { randomBytes } from 'node:crypto';
import type { SipMessage } from '../sip/message.js';
import { MAGIC_COOKIE } from '../sip/via.js';
import type { TxnContext } from '../txn/context.js';
import { clientKey } from '../txn/keys.js';
import { NonInviteClientTxn } from '../txn/non-invite-client.js';
import type { SendTarget } from '../transport/types.js';
import { isIP } from 'node:net';
import type { LocalIdentity } from './local-identity.js';

export interface OriginatedUser {
  onResponse(res: SipMessage): void;
  /** Timer F, or the transaction was ended by its owner */
  onTimeout(): void;
}

export class Originator {
  private readonly txns = new Map<string, NonInviteClientTxn>();
  private readonly prefix: string;
  private counter = 0;

  constructor(private readonly ctx: TxnContext, private readonly identity: LocalIdentity, shardId: number) {
    // no dots: never mistaken for a proxied branch by loop detection (branch-id.ts)
    this.prefix = `${MAGIC_COOKIE}-o${shardId.toString(36)}${randomBytes(4).toString('hex')}`;
  }

  get size(): number {
    return this.txns.size;
  }

  /** Our sent-by for a destination: the listener of its transport and address family. */
  sentBy(dest: SendTarget): string {
    return this.identity.sentBy(dest.transport, isIP(dest.address) === 6 ? 6 : 4);
  }

  /** Adds our Via and starts a transaction; `cancel()` ends it early without a callback. */
  send(req: SipMessage, dest: SendTarget, user: OriginatedUser): { cancel(): void } {
    const branch = `${this.prefix}${(this.counter++).toString(36)}`;
    req.prepend('Via', `SIP/2.0/${dest.transport.toUpperCase()} ${this.sentBy(dest)};branch=${branch};rport`);
    const key = clientKey(branch, req.method);
    let ended = false;
    const txn = new NonInviteClientTxn(this.ctx, key, req.toBuffer(), dest, {
      onResponse: (_t, res) => { if (!ended) user.onResponse(res); },
      onTimeout: () => { if (!ended) user.onTimeout(); },
    }, (t) => this.txns.delete(t.key));
    this.txns.set(key, txn);
    txn.start();
    return { cancel: () => { ended = true; txn.terminate(); } };
  }

  /** A response to one of our requests: handled (true) or not ours (false). */
  receive(res: SipMessage, branch: string): boolean {
    const txn = this.txns.get(clientKey(branch, res.method));
    if (txn === undefined) return false;
    txn.receive(res);
    return true;
  }
}
