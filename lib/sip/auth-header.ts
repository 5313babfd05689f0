// Authorization / WWW-Authenticate / Proxy-* values: `Digest k=v, k="v", ...` (RFC 3261 25.1, RFC 8760).
import { createError } from '../errors.js';
import { splitCommas, unquote } from './split.js';

export interface AuthValue { scheme: string; params: Map<string, string> }

export function parseAuthValue(value: string): AuthValue {
  const v = value.trim();
  const sp = v.search(/\s/);
  if (sp <= 0) throw createError('SIP_ERR_BAD_HEADER', 'malformed credentials', 400);
  const scheme = v.slice(0, sp);
  const params = new Map<string, string>();
  for (const part of splitCommas(v.slice(sp + 1))) {
    const eq = part.indexOf('=');
    if (eq === -1) continue;
    params.set(part.slice(0, eq).trim().toLowerCase(), unquote(part.slice(eq + 1).trim()));
  }
  return { scheme, params };
}

/**
 * The credential fields a digest check reads (RFC 7616 3.4), unquoted; undefined when absent.
 * The same values parseAuthValue(...).params.get(name) gives: the last of a repeated parameter wins.
 */
export interface DigestCredentials {
  scheme: string;
  username: string | undefined;
  realm: string | undefined;
  nonce: string | undefined;
  uri: string | undefined;
  response: string | undefined;
  qop: string | undefined;
  nc: string | undefined;
  cnonce: string | undefined;
  algorithm: string | undefined;
  opaque: string | undefined;
}

type Field = Exclude<keyof DigestCredentials, 'scheme'>;

/**
 * parseAuthValue for the fields of DigestCredentials only, in one pass over the value: no Map, no
 * array of parts, no string made for a parameter nobody reads. Undefined exactly where
 * parseAuthValue throws (no scheme followed by whitespace). Splitting follows splitCommas (commas
 * inside quotes or <> do not separate; a backslash in quotes escapes the next character), a part's
 * name ends at its first '=' wherever that is, and parts without one are ignored, as there.
 */
export function parseDigestCredentials(value: string): DigestCredentials | undefined {
  let start = 0;
  let end = value.length;
  while (start < end && isWs(value.charCodeAt(start))) start++;
  while (end > start && isWs(value.charCodeAt(end - 1))) end--;
  let sp = start;
  while (sp < end && !isWs(value.charCodeAt(sp))) sp++;
  if (sp === end) return undefined;
  const out: DigestCredentials = {
    scheme: value.slice(start, sp), username: undefined, realm: undefined, nonce: undefined, uri: undefined,
    response: undefined, qop: undefined, nc: undefined, cnonce: undefined, algorithm: undefined, opaque: undefined,
  };
  if (SLOW_CHARS.test(value)) scanGeneral(out, value, sp + 1, end);
  else scanPlain(out, value, sp + 1, end);
  return out;
}

/** with none of these (real credentials) the parts can be found by indexOf jumps */
const SLOW_CHARS = /[<>\\]/;

/**
 * The parameters in value[from, end) when it holds no '<', '>' or '\\': a part ends at the first
 * comma outside quotes, a quote closes at the next quote. Each separator is searched for once from
 * where the scan stands (no rescans: linear in the value however it is built).
 */
function scanPlain(out: DigestCredentials, value: string, from: number, end: number): void {
  let partStart = from;
  let pos = from;
  // -2: not searched yet; -1: none left
  let nextQuote = -2;
  let nextComma = -2;
  let nextEq = -2;
  for (;;) {
    if (nextQuote !== -1 && nextQuote < pos) nextQuote = value.indexOf('"', pos);
    if (nextComma !== -1 && nextComma < pos) nextComma = value.indexOf(',', pos);
    let partEnd = nextComma === -1 ? end : nextComma;
    if (nextQuote !== -1 && nextQuote < partEnd) {
      const close = value.indexOf('"', nextQuote + 1);
      if (close !== -1) { pos = close + 1; continue; }
      partEnd = end; // a quote left open takes the rest of the value
    }
    if (nextEq !== -1 && nextEq < partStart) nextEq = value.indexOf('=', partStart);
    if (nextEq !== -1 && nextEq < partEnd) setField(out, value, partStart, nextEq, partEnd);
    if (partEnd >= end) return;
    partStart = pos = partEnd + 1;
  }
}

/** The parameters in value[from, end), character by character (splitOutside's rules). */
function scanGeneral(out: DigestCredentials, value: string, from: number, end: number): void {
  let partStart = from;
  let eq = -1;
  let inQuote = false;
  let angle = 0;
  for (let i = partStart; i < end; i++) {
    const c = value.charCodeAt(i);
    if (c === 0x3d /* = */) {
      if (eq === -1) eq = i;
    } else if (inQuote) {
      // an '=' skipped here may be the part's first for indexOf, but then an opening quote comes
      // before it in the same part: the name would hold a '"' and be no field either way
      if (c === 0x5c /* \ */) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) angle++;
    else if (c === 0x3e) { if (angle > 0) angle--; }
    else if (c === 0x2c && angle === 0) {
      if (eq !== -1) setField(out, value, partStart, eq, i);
      partStart = i + 1;
      eq = -1;
    }
  }
  if (eq !== -1) setField(out, value, partStart, eq, end);
}

/** One `name=value` part [from, to) with its first '=' at `eq`: stored when the name is a field. */
function setField(out: DigestCredentials, value: string, from: number, eq: number, to: number): void {
  let ks = from;
  let ke = eq;
  while (ks < ke && isWs(value.charCodeAt(ks))) ks++;
  while (ke > ks && isWs(value.charCodeAt(ke - 1))) ke--;
  const field = fieldNamed(value, ks, ke);
  if (field === undefined) return;
  let vs = eq + 1;
  let ve = to;
  while (vs < ve && isWs(value.charCodeAt(vs))) vs++;
  while (ve > vs && isWs(value.charCodeAt(ve - 1))) ve--;
  // unquote(), without slicing twice
  if (ve - vs >= 2 && value.charCodeAt(vs) === 0x22 && value.charCodeAt(ve - 1) === 0x22) {
    const inner = value.slice(vs + 1, ve - 1);
    out[field] = inner.indexOf('\\') === -1 ? inner : inner.replace(/\\(.)/g, '$1');
  } else {
    out[field] = value.slice(vs, ve);
  }
}

const FIELDS_BY_LENGTH: ReadonlyArray<readonly Field[]> = (() => {
  const names: Field[] = ['username', 'realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce', 'algorithm', 'opaque'];
  const out: Field[][] = [];
  for (const n of names) (out[n.length] ??= []).push(n);
  return out;
})();

/** The field whose name is value[from, to) in any ASCII case (toLowerCase maps no other character onto these letters). */
function fieldNamed(value: string, from: number, to: number): Field | undefined {
  const candidates = FIELDS_BY_LENGTH[to - from];
  if (candidates === undefined) return undefined;
  next: for (const name of candidates) {
    for (let i = 0; i < name.length; i++) {
      let c = value.charCodeAt(from + i);
      if (c >= 0x41 && c <= 0x5a) c |= 0x20;
      if (c !== name.charCodeAt(i)) continue next;
    }
    return name;
  }
  return undefined;
}

/** What String.prototype.trim and /\s/ take for whitespace (ECMAScript WhiteSpace and LineTerminator). */
function isWs(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029
    || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}
