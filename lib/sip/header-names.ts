// Header names: compact forms (RFC 3261 7.3.3 and later RFCs) and canonical spelling for output.

const COMPACT: Record<string, string> = {
  i: 'call-id', m: 'contact', e: 'content-encoding', l: 'content-length', c: 'content-type',
  f: 'from', s: 'subject', k: 'supported', t: 'to', v: 'via', o: 'event', r: 'refer-to',
  b: 'referred-by', u: 'allow-events', a: 'accept-contact', j: 'reject-contact',
  d: 'request-disposition', x: 'session-expires', y: 'identity', n: 'identity-info',
};

const CANONICAL: Record<string, string> = {
  'call-id': 'Call-ID', cseq: 'CSeq', 'www-authenticate': 'WWW-Authenticate', 'rseq': 'RSeq',
  'rack': 'RAck', 'mime-version': 'MIME-Version', 'sip-etag': 'SIP-ETag', 'sip-if-match': 'SIP-If-Match',
};

/** Lower-case long form of a header name as found on the wire. */
// Names as they come off the wire repeat endlessly: remember their normal form (bounded).
const seen = new Map<string, string>();

export function normalizeHeaderName(name: string): string {
  const hit = seen.get(name);
  if (hit !== undefined) return hit;
  const lower = name.toLowerCase();
  const n = lower.length === 1 ? (COMPACT[lower] ?? lower) : lower;
  if (seen.size < 4096) seen.set(name, n);
  return n;
}

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;

/**
 * Normalized name of a header name as found on the wire, or undefined when it is not a token. Names
 * repeat endlessly, so a name seen before skips both the token check and the lower-casing.
 */
const tokens = new Map<string, string>();
export function tokenHeaderName(name: string): string | undefined {
  const hit = tokens.get(name);
  if (hit !== undefined) return hit;
  if (!TOKEN_RE.test(name)) return undefined;
  const n = normalizeHeaderName(name);
  if (tokens.size < 4096) tokens.set(name, n);
  return n;
}

/** Conventional spelling of a normalized (lower-case) header name, for headers we write. */
// every header we write goes through here: remember the spelling of each name (bounded)
const spelled = new Map<string, string>(Object.entries(CANONICAL));
export function canonicalHeaderName(lower: string): string {
  const hit = spelled.get(lower);
  if (hit !== undefined) return hit;
  const s = lower.replace(/(^|-)([a-z])/g, (_m, sep: string, ch: string) => sep + ch.toUpperCase());
  if (spelled.size < 4096) spelled.set(lower, s);
  return s;
}

/** Headers that may appear only once (RFC 3261 7.3.1 / 20): a second copy makes the request malformed. */
export const SINGLE_VALUE_HEADERS: ReadonlySet<string> = new Set([
  'call-id', 'cseq', 'from', 'to', 'max-forwards', 'content-length', 'content-type', 'expires',
]);

/** Headers whose comma-separated values are separate header values (RFC 3261 7.3.1). */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  'via', 'route', 'record-route', 'contact', 'supported', 'require', 'proxy-require', 'unsupported',
  'allow', 'accept', 'accept-encoding', 'accept-language', 'allow-events', 'path', 'diversion',
  'history-info', 'content-encoding', 'in-reply-to', 'call-info',
]);
