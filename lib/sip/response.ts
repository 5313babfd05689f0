// Building a response to a request (RFC 3261 8.2.6.2): Via, From, Call-ID, CSeq copied; To gets
// our tag on anything but 100.
import { SipMessage } from './message.js';
import { hasTag } from './name-addr.js';

export const REASONS: Readonly<Record<number, string>> = {
  100: 'Trying', 180: 'Ringing', 181: 'Call Is Being Forwarded', 183: 'Session Progress',
  200: 'OK', 400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found',
  405: 'Method Not Allowed', 407: 'Proxy Authentication Required', 408: 'Request Timeout',
  416: 'Unsupported URI Scheme', 420: 'Bad Extension', 423: 'Interval Too Brief',
  480: 'Temporarily Unavailable', 481: 'Call/Transaction Does Not Exist', 482: 'Loop Detected',
  483: 'Too Many Hops', 486: 'Busy Here', 487: 'Request Terminated', 488: 'Not Acceptable Here',
  500: 'Server Internal Error', 501: 'Not Implemented', 503: 'Service Unavailable',
  504: 'Server Time-out', 505: 'Version Not Supported', 513: 'Message Too Large',
  600: 'Busy Everywhere', 603: 'Decline',
};

export interface ResponseOptions {
  reason?: string;
  toTag?: string;
  headers?: ReadonlyArray<readonly [string, string]>;
}

export function buildResponse(req: SipMessage, status: number, opts: ResponseOptions = {}): SipMessage {
  const res = SipMessage.response(status, opts.reason ?? REASONS[status] ?? 'Unknown');
  res.method = req.method;
  // by position: reading the request's lines this way leaves its header index unmaterialized
  const out = res.headers;
  for (let i = 0, size = req.size; i < size; i++) {
    const name = req.nameAt(i);
    if (name === 'via' || name === 'from' || name === 'call-id' || name === 'cseq' || name === 'record-route' && status > 100 && status < 300) {
      out.push({ name, value: req.valueAt(i), line: req.lineAt(i) });
    } else if (name === 'to') {
      const value = req.valueAt(i);
      const addTag = status > 100 && opts.toTag !== undefined && !hasTag(value);
      out.push(addTag ? { name: 'to', value: `${value};tag=${opts.toTag}`, line: undefined } : { name: 'to', value, line: req.lineAt(i) });
    }
  }
  if (opts.headers) for (const [n, v] of opts.headers) res.append(n, v);
  return res;
}
