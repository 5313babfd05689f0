// The usual SIP methods, recognised on the received bytes (request line, CSeq) and handed out as
// the literals: no slice, and compared by identity later. Method names are case-sensitive (RFC 3261 7.1).
import { compilePrefixMatcher } from './byte-prefix.js';

export const knownMethod = compilePrefixMatcher(['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'UPDATE', 'INFO',
  'SUBSCRIBE', 'NOTIFY', 'REFER', 'MESSAGE', 'PUBLISH'].map((m) => [m, m] as const));
