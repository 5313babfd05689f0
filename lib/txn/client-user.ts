// What a client transaction reports to its owner (the proxy core's branch).
import type { SipMessage } from '../sip/message.js';

export interface ClientTxnUser<T> {
  onResponse(txn: T, res: SipMessage): void;
  /** Timer B / Timer F fired, or the message could not be sent: treat as 408 (RFC 3261 16.7 step 2). */
  onTimeout(txn: T): void;
}
