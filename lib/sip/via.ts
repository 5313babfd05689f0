// Via header values (RFC 3261 20.42, RFC 3581 rport).
import { createError } from '../errors.js';
import { compilePrefixMatcher, literalOrSlice } from './byte-prefix.js';
import { formatParams, parseParams } from './split.js';
import { parseHostPort } from './uri.js';

export const MAGIC_COOKIE = 'z9hG4bK';

export interface Via {
  protocol: string; // 'SIP/2.0'
  transport: string; // upper-case: UDP, TCP, TLS, SCTP, WS, ...
  host: string;
  port: number | undefined;
  params: Array<[string, string | null]>;
}

// The common spelling first; the general form allows LWS around '/' and ':' (RFC 4475 wsinv).
const FAST_RE = /^(SIP)\/(2\.0)\/([A-Za-z]+) ([^\s:;]+(?::[0-9]+)?)$/;
const VIA_RE = /^([A-Za-z0-9.!%*_+`'~-]+)\s*\/\s*([0-9.]+)\s*\/\s*([A-Za-z0-9.!%*_+`'~-]+)\s+(\S+(?:\s*:\s*[0-9]+)?)\s*$/;

export function parseVia(value: string): Via {
  const fast = USUAL_VIA.test(value) ? plainVia(value) : usualVia(value);
  if (fast !== undefined) return fast;
  return generalVia(value);
}

/** The general form: LWS anywhere it is allowed, IPv6, odd characters; throws on a malformed Via. */
export function generalVia(value: string): Via {
  const v = value.trim();
  const semi = v.indexOf(';');
  const head = semi === -1 ? v : v.slice(0, semi);
  // sent-protocol allows LWS around '/' (RFC 4475 wsinv); sent-by follows after LWS
  const m = FAST_RE.exec(head) ?? VIA_RE.exec(head);
  if (m === null) throw createError('SIP_ERR_BAD_HEADER', `malformed Via '${v}'`, 400);
  const { host, port } = parseHostPort(m[4]!.indexOf(' ') === -1 ? m[4]! : m[4]!.replace(/\s+/g, ''), v);
  return {
    protocol: `${m[1]!.toUpperCase()}/${m[2]}`,
    transport: m[3]!.toUpperCase(),
    host,
    port,
    params: semi === -1 ? [] : parseParams(v.slice(semi + 1)),
  };
}

/**
 * The shape of nearly every Via, checked by one regex (native, a few times cheaper than a
 * charCodeAt loop): upper-case transport, lower-case host name or IPv4 address, optional port of
 * 1-5 digits, plain parameters with lower-case names (no whitespace, quotes or angle brackets).
 * Nothing in such a value needs a case change, a trim or a check of its own.
 */
const USUAL_VIA = /^SIP\/2\.0\/[A-Z]+ [a-z0-9.-]+(?::[0-9]{1,5})?(?:;[^\x00-\x20"<\x7f\xa0;=A-Z]+(?:=[^\x00-\x20"<\x7f\xa0;]*)?)*$/;

/** A value USUAL_VIA accepted, cut with indexOf and slice; undefined for a port above 65535. */
function plainVia(v: string): Via | undefined {
  const sp = v.indexOf(' ', 8);
  let semi = v.indexOf(';', sp);
  if (semi === -1) semi = v.length;
  const colon = v.indexOf(':', sp);
  let hostEnd = semi;
  let port: number | undefined;
  if (colon !== -1 && colon < semi) {
    hostEnd = colon;
    port = 0;
    for (let i = colon + 1; i < semi; i++) port = port * 10 + v.charCodeAt(i) - 0x30;
    if (port > 65535) return undefined;
  }
  const params: Array<[string, string | null]> = semi === v.length ? [] : [plainParam(v, semi + 1)];
  for (let next = v.indexOf(';', semi + 1); next !== -1; next = v.indexOf(';', next + 1)) params.push(plainParam(v, next + 1));
  return { protocol: 'SIP/2.0', transport: usualTransport(v, sp) ?? v.slice(8, sp), host: v.slice(sp + 1, hostEnd), port, params };
}

/** The parameter from `start` to the next ';' or the end: its name has no '=' and is not empty. */
function plainParam(v: string, start: number): [string, string | null] {
  let end = v.indexOf(';', start);
  if (end === -1) end = v.length;
  const eq = v.indexOf('=', start);
  return eq === -1 || eq > end ? [v.slice(start, end), null] : [v.slice(start, eq), v.slice(eq + 1, end)];
}

/** UDP, TCP or TLS as the literal (no new string for the transport of nearly every Via). */
function usualTransport(v: string, sp: number): string | undefined {
  if (sp !== 11) return undefined;
  const a = v.charCodeAt(8);
  const b = v.charCodeAt(9);
  const c = v.charCodeAt(10);
  if (a === 0x55 && b === 0x44 && c === 0x50) return 'UDP';
  if (a === 0x54 && b === 0x43 && c === 0x50) return 'TCP';
  if (a === 0x54 && b === 0x4c && c === 0x53) return 'TLS';
  return undefined;
}

/**
 * `SIP/2.0/<letters> <host chars>[:<port>][;params]` with no whitespace but the one space: the shape
 * nearly every Via has, read with one scan and no regex. Anything else (IPv6, LWS, odd characters,
 * bad ports) returns undefined and takes the general path above, which also reports the errors.
 */
function usualVia(v: string): Via | undefined {
  if (!v.startsWith('SIP/2.0/')) return undefined;
  const sp = v.indexOf(' ', 8);
  if (sp <= 8) return undefined;
  // case changes only when needed: toUpperCase/toLowerCase are runtime calls
  let lower = false;
  for (let i = 8; i < sp; i++) {
    const c = v.charCodeAt(i);
    if (c >= 0x61 && c <= 0x7a) lower = true;
    else if (c < 0x41 || c > 0x5a) return undefined;
  }
  let upper = false;
  let semi = v.indexOf(';', sp + 1);
  if (semi === -1) semi = v.length;
  let colon = -1;
  for (let i = sp + 1; i < semi; i++) {
    const c = v.charCodeAt(i);
    if (colon !== -1) { if (c < 0x30 || c > 0x39) return undefined; }
    else if (c === 0x3a) colon = i;
    else if (!HOST_CHAR[c]) return undefined;
    else if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  const hostEnd = colon === -1 ? semi : colon;
  if (hostEnd === sp + 1) return undefined;
  let port: number | undefined;
  if (colon !== -1) {
    if (semi - colon - 1 < 1 || semi - colon - 1 > 5) return undefined;
    port = Number(v.slice(colon + 1, semi));
    if (port > 65535) return undefined;
  }
  return {
    protocol: 'SIP/2.0',
    transport: lower ? v.slice(8, sp).toUpperCase() : v.slice(8, sp),
    host: upper ? v.slice(sp + 1, hostEnd).toLowerCase() : v.slice(sp + 1, hostEnd),
    port,
    params: semi === v.length ? [] : parseParams(v.slice(semi + 1)),
  };
}

/** [A-Za-z0-9.-]: a host name or IPv4 address (HOST_RE in uri.ts without the IPv6 form). */
const HOST_CHAR: boolean[] = [];
for (let c = 0; c < 256; c++) {
  HOST_CHAR.push((c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) || c === 0x2d || c === 0x2e);
}

/** Transports and parameter names seen in nearly every Via, handed out as the literals (no slice). */
const knownTransport = compilePrefixMatcher(['UDP', 'TCP', 'TLS', 'SCTP', 'WS', 'WSS'].map((t) => [t, t] as const));
const knownParam = compilePrefixMatcher(['branch', 'rport', 'received', 'maddr', 'ttl', 'alias', 'keep', 'sigcomp-id'].map((p) => [p, p] as const));

// Byte classes of USUAL_VIA (above), for the same check on the received bytes.
const HOST = 1; // [a-z0-9.-]
const PARAM_NAME = 2; // [^\x00-\x20"<\x7f\xa0;=A-Z] and no ',' (a ',' starts the next Via value)
const PARAM_VALUE = 4; // the same with '=' and A-Z
const CLASS = new Uint8Array(256);
for (let c = 0; c < 256; c++) {
  const plain = c > 0x20 && c !== 0x22 && c !== 0x3c && c !== 0x7f && c !== 0xa0 && c !== 0x3b && c !== 0x2c;
  if (plain) CLASS[c] = PARAM_VALUE | (c !== 0x3d && !(c >= 0x41 && c <= 0x5a) ? PARAM_NAME : 0);
  if ((c >= 0x61 && c <= 0x7a) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x2d) CLASS[c] |= HOST;
}

/**
 * The Via in `buf[a, b)` (a header value with SP/HTAB around it left out; `text` is `buf` as latin1)
 * when it has the shape USUAL_VIA accepts and holds a single value (no ','): read from the bytes,
 * with no string made for the value, the protocol, a usual transport or a usual parameter name. The
 * same Via parseVia returns for that text; undefined for anything else, which the caller parses from
 * the text (the general path, which also reports the errors).
 *
 * With `first`, a ',' right after such a value ends it: the first Via of a list line (a response's
 * line with our Via and the caller's). The scan met no quote or '<' before it, so that ',' is the
 * separator splitCommas would cut at, and what follows is left unread.
 */
export function usualViaAt(buf: Uint8Array, text: string, a: number, b: number, first = false): Via | undefined {
  if (b - a < 10 || buf[a] !== 0x53 || buf[a + 1] !== 0x49 || buf[a + 2] !== 0x50 || buf[a + 3] !== 0x2f || buf[a + 4] !== 0x32 ||
    buf[a + 5] !== 0x2e || buf[a + 6] !== 0x30 || buf[a + 7] !== 0x2f) return undefined;
  // transport: [A-Z]+ then one SP
  let i = a + 8;
  while (i < b && buf[i]! >= 0x41 && buf[i]! <= 0x5a) i++;
  if (i === a + 8 || buf[i] !== 0x20) return undefined;
  const sp = i;
  // host: [a-z0-9.-]+
  for (i = sp + 1; i < b && (CLASS[buf[i]!]! & HOST) !== 0; i++);
  const hostEnd = i;
  if (hostEnd === sp + 1) return undefined;
  let port: number | undefined;
  if (i < b && buf[i] === 0x3a) {
    port = 0;
    for (i++; i < b && buf[i]! >= 0x30 && buf[i]! <= 0x39; i++) port = port * 10 + buf[i]! - 0x30;
    const digits = i - hostEnd - 1;
    if (digits < 1 || digits > 5 || port > 65535) return undefined;
  }
  const params: Array<[string, string | null]> = [];
  while (i < b) {
    // ;name[=value]
    if (buf[i] !== 0x3b) {
      if (first && buf[i] === 0x2c) break;
      return undefined;
    }
    const start = ++i;
    while (i < b && (CLASS[buf[i]!]! & PARAM_NAME) !== 0) i++;
    const nameEnd = i;
    if (nameEnd === start) return undefined;
    let value: string | null = null;
    if (i < b && buf[i] === 0x3d) {
      const vs = ++i;
      while (i < b && (CLASS[buf[i]!]! & PARAM_VALUE) !== 0) i++;
      value = text.slice(vs, i);
    }
    params.push([literalOrSlice(knownParam, buf, text, start, nameEnd), value]);
  }
  return {
    protocol: 'SIP/2.0',
    transport: literalOrSlice(knownTransport, buf, text, a + 8, sp),
    host: text.slice(sp + 1, hostEnd),
    port,
    params,
  };
}

export function viaParam(via: Via, name: string): string | null | undefined {
  const params = via.params;
  for (let i = 0; i < params.length; i++) if (params[i]![0] === name) return params[i]![1];
  return undefined;
}

export function setViaParam(via: Via, name: string, value: string | null): void {
  for (const p of via.params) {
    if (p[0] === name) { p[1] = value; return; }
  }
  via.params.push([name, value]);
}

export function formatVia(via: Via): string {
  const hp = via.port === undefined ? via.host : `${via.host}:${via.port}`;
  return `${via.protocol}/${via.transport} ${hp}${formatParams(via.params)}`;
}

export function viaBranch(via: Via): string | undefined {
  const b = viaParam(via, 'branch');
  return b === null ? undefined : b;
}

/** Default port of a Via sent-by when none is given (RFC 3261 18.2.2). */
export function defaultPort(transport: string): number {
  return transport === 'TLS' || transport === 'WSS' ? 5061 : 5060;
}
