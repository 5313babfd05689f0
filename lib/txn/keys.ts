// Transaction matching keys (RFC 3261 17.2.3 for servers, 17.1.3 for clients).
import type { SipMessage } from '../sip/message.js';
import { flatten } from '../sip/detach.js';
import { MAGIC_COOKIE, viaBranch, type Via } from '../sip/via.js';

// Keys are flattened: a transaction in Accepted or Completed holds its key for 32 s, and a key built
// from the Via's branch slice would keep the whole request text alive that long (lib/sip/detach.ts).

/**
 * Server transaction key of a request. ACK matches its INVITE; CANCEL has its own transaction.
 * Requests without the magic cookie fall back to RFC 2543 matching fields (RFC 4475 3.2.1).
 */
export function serverKey(req: SipMessage, topVia: Via, method = req.method): string {
  const m = method === 'ACK' ? 'INVITE' : method;
  const branch = viaBranch(topVia);
  if (branch !== undefined && branch.startsWith(MAGIC_COOKIE) && branch.length > MAGIC_COOKIE.length) {
    return flatten(`${branch}|${topVia.host}:${topVia.port ?? ''}|${m}`);
  }
  const from = req.get('from') ?? '';
  return flatten(`2543|${req.callId}|${from}|${req.cseq().seq}|${topVia.host}:${topVia.port ?? ''}|${m}`);
}

export function clientKey(branch: string, method: string): string {
  return flatten(`${branch}|${method === 'ACK' ? 'INVITE' : method}`);
}
