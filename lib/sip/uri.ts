// SIP, SIPS and TEL URIs (RFC 3261 19.1, RFC 3966). Unknown schemes are kept opaque.
import { createError } from '../errors.js';
import { formatParams, parseParams } from './split.js';

export interface SipUri {
  scheme: string; // lower-case: sip, sips, tel, or any other (opaque)
  user: string | undefined; // still %-escaped as on the wire
  password: string | undefined;
  host: string; // lower-case; IPv6 kept in brackets
  port: number | undefined;
  params: Array<[string, string | null]>;
  headers: string | undefined; // text after '?', escaped, uninterpreted
  /** For opaque schemes (and tel:) the text after the colon. */
  opaque: string | undefined;
}

const SCHEME_RE = /^[A-Za-z][A-Za-z0-9+\-.]*$/;

export function parseUri(text: string): SipUri {
  const colon = text.indexOf(':');
  if (colon <= 0 || /[\s<>]/.test(text)) throw createError('SIP_ERR_BAD_URI', `malformed URI '${text}'`, 400);
  const scheme = text.slice(0, colon).toLowerCase();
  if (!SCHEME_RE.test(scheme)) throw createError('SIP_ERR_BAD_URI', `malformed URI scheme in '${text}'`, 400);
  const rest = text.slice(colon + 1);
  if (scheme === 'tel') return parseTel(rest);
  if (scheme !== 'sip' && scheme !== 'sips') {
    return { scheme, user: undefined, password: undefined, host: '', port: undefined, params: [], headers: undefined, opaque: rest };
  }
  // userinfo may itself hold ';', '?' and ':' (RFC 4475 semiuri, intmeth): the last '@' ends it.
  const at = rest.lastIndexOf('@');
  let user: string | undefined;
  let password: string | undefined;
  let hostPart = rest;
  if (at !== -1) {
    const userinfo = rest.slice(0, at);
    hostPart = rest.slice(at + 1);
    const pc = userinfo.indexOf(':');
    // A ':' inside the user part is legal only as the password separator; keep it simple and exact.
    if (pc === -1) user = userinfo;
    else { user = userinfo.slice(0, pc); password = userinfo.slice(pc + 1); }
    if (user === '') throw createError('SIP_ERR_BAD_URI', `empty user in '${text}'`, 400);
  }
  let headers: string | undefined;
  const q = hostPart.indexOf('?');
  if (q !== -1) { headers = hostPart.slice(q + 1); hostPart = hostPart.slice(0, q); }
  const semi = hostPart.indexOf(';');
  const hostport = semi === -1 ? hostPart : hostPart.slice(0, semi);
  const params = semi === -1 ? [] : parseParams(hostPart.slice(semi + 1));
  const { host, port } = parseHostPort(hostport, text);
  return { scheme, user, password, host, port, params, headers, opaque: undefined };
}

function parseTel(rest: string): SipUri {
  const semi = rest.indexOf(';');
  const number = semi === -1 ? rest : rest.slice(0, semi);
  if (!/^\+?[0-9A-Fa-f*#\-.()pwPW]+$/.test(number)) throw createError('SIP_ERR_BAD_URI', `malformed tel URI 'tel:${rest}'`, 400);
  return {
    scheme: 'tel', user: number, password: undefined, host: '', port: undefined,
    params: semi === -1 ? [] : parseParams(rest.slice(semi + 1)), headers: undefined, opaque: rest,
  };
}

const HOST_RE = /^(?:\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9\-.]+)$/;

export function parseHostPort(hostport: string, context = hostport): { host: string; port: number | undefined } {
  let host = hostport;
  let port: number | undefined;
  const close = hostport.lastIndexOf(']');
  const pc = hostport.lastIndexOf(':');
  if (pc !== -1 && pc > close) {
    host = hostport.slice(0, pc);
    port = portNumber(hostport, pc + 1);
    if (port === undefined) throw createError('SIP_ERR_BAD_URI', `bad port in '${context}'`, 400);
  }
  if (!HOST_RE.test(host)) throw createError('SIP_ERR_BAD_URI', `bad host in '${context}'`, 400);
  return { host: host.toLowerCase(), port };
}

/** 1 to 5 digits from `from` to the end, at most 65535 (a digit scan: this runs for every URI and Via). */
function portNumber(s: string, from: number): number | undefined {
  const n = s.length - from;
  if (n < 1 || n > 5) return undefined;
  let port = 0;
  for (let i = from; i < s.length; i++) {
    const d = s.charCodeAt(i) - 0x30;
    if (d < 0 || d > 9) return undefined;
    port = port * 10 + d;
  }
  return port > 65535 ? undefined : port;
}

export function formatUri(u: SipUri): string {
  if (u.scheme !== 'sip' && u.scheme !== 'sips') {
    if (u.scheme === 'tel') return `tel:${u.user ?? ''}${formatParams(u.params)}`;
    return `${u.scheme}:${u.opaque ?? ''}`;
  }
  let s = `${u.scheme}:`;
  if (u.user !== undefined) s += u.password !== undefined ? `${u.user}:${u.password}@` : `${u.user}@`;
  s += u.host;
  if (u.port !== undefined) s += `:${u.port}`;
  s += formatParams(u.params);
  if (u.headers !== undefined) s += `?${u.headers}`;
  return s;
}

export function uriParam(u: SipUri, name: string): string | null | undefined {
  for (const [k, v] of u.params) if (k === name) return v;
  return undefined;
}

export function hasUriParam(u: SipUri, name: string): boolean {
  return uriParam(u, name) !== undefined;
}

/** %-decode a user part for comparisons and lookups (RFC 3261 19.1.4 compares unescaped). */
export function unescapeUser(user: string): string {
  if (user.indexOf('%') === -1) return user;
  return user.replace(/%([0-9A-Fa-f]{2})/g, (_m, h: string) => String.fromCharCode(parseInt(h, 16)));
}

// user = 1*( unreserved / escaped / user-unreserved ) (RFC 3261 25.1); everything else is escaped
const USER_CHAR_RE = /[A-Za-z0-9\-_.!~*'()&=+$,;?/]/;

/** %-escape a plain user part for writing into a SIP URI: the inverse of unescapeUser. */
export function escapeUser(user: string): string {
  let out = '';
  for (const ch of user) {
    if (USER_CHAR_RE.test(ch)) { out += ch; continue; }
    const code = ch.codePointAt(0)!;
    const bytes = code <= 0xff ? [code] : [...Buffer.from(ch, 'utf8')];
    for (const b of bytes) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

export function isSipScheme(u: SipUri): boolean {
  return u.scheme === 'sip' || u.scheme === 'sips';
}
