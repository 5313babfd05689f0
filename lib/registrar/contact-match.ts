// SIP URI equivalence (RFC 3261 19.1.4), which decides whether a REGISTER's Contact refreshes an
// existing binding or adds a new one (RFC 3261 10.3 step 7).
import { parseUri, unescapeUser, type SipUri } from '../sip/uri.js';

// A parameter in only one of the URIs is ignored, except these (19.1.4).
const MUST_BE_IN_BOTH: ReadonlySet<string> = new Set(['user', 'ttl', 'method', 'maddr']);

/**
 * Index of the binding whose contact is the same URI as `uri` (19.1.4), -1 when none. The same
 * text is looked for first: a UA writes its Contact alike in every refresh, and the comparison by
 * URI parses both sides, which for an AOR of n contacts cost up to 2(n-1) parses per refresh
 * (bench:register --contacts 4). An AOR never holds two bindings of the same URI (10.3 step 7
 * replaces one), so the binding found is the one a scan in order by URI would find.
 */
export function findContact(bindings: ReadonlyArray<{ readonly contact: string }>, uri: string): number {
  for (let i = 0; i < bindings.length; i++) if (bindings[i]!.contact === uri) return i;
  for (let i = 0; i < bindings.length; i++) if (sameContactUri(bindings[i]!.contact, uri)) return i;
  return -1;
}

export function sameContactUri(a: string, b: string): boolean {
  if (a === b) return true;
  let ua: SipUri;
  let ub: SipUri;
  try {
    ua = parseUri(a);
    ub = parseUri(b);
  } catch {
    return false;
  }
  if (ua.scheme !== ub.scheme) return false;
  if (ua.scheme !== 'sip' && ua.scheme !== 'sips') {
    return (ua.opaque ?? '').toLowerCase() === (ub.opaque ?? '').toLowerCase();
  }
  // userinfo is case-sensitive, compared unescaped; a default port is not the same as no port
  if (unescapeOpt(ua.user) !== unescapeOpt(ub.user) || unescapeOpt(ua.password) !== unescapeOpt(ub.password)) return false;
  if (ua.host !== ub.host || ua.port !== ub.port) return false;
  return sameParams(ua.params, ub.params) && sameHeaders(ua.headers, ub.headers);
}

function unescapeOpt(s: string | undefined): string | undefined {
  return s === undefined ? undefined : unescapeUser(s);
}

function norm(v: string | null): string {
  return v === null ? '' : unescapeUser(v).toLowerCase();
}

function sameParams(pa: ReadonlyArray<[string, string | null]>, pb: ReadonlyArray<[string, string | null]>): boolean {
  const mb = new Map(pb);
  for (const [k, v] of pa) {
    const other = mb.get(k);
    if (other === undefined) {
      if (MUST_BE_IN_BOTH.has(k)) return false;
    } else if (norm(v) !== norm(other)) return false;
  }
  const ma = new Map(pa);
  for (const [k] of pb) if (!ma.has(k) && MUST_BE_IN_BOTH.has(k)) return false;
  return true;
}

// URI headers are never ignored: the same set on both sides (order free).
function sameHeaders(ha: string | undefined, hb: string | undefined): boolean {
  if (ha === hb) return true;
  if (ha === undefined || hb === undefined) return false;
  return headerSet(ha) === headerSet(hb);
}

function headerSet(h: string): string {
  return h.split('&').map((kv) => {
    const eq = kv.indexOf('=');
    return eq === -1 ? kv.toLowerCase() : `${kv.slice(0, eq).toLowerCase()}=${unescapeUser(kv.slice(eq + 1))}`;
  }).sort().join('&');
}
