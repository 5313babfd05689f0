// name-addr / addr-spec header values: From, To, Contact, Route, Record-Route (RFC 3261 20.10, 25.1).
import { createError } from '../errors.js';
import { parseParams } from './split.js';

export interface NameAddr {
  display: string | undefined; // as written (quoted or token list), without surrounding LWS
  uri: string; // raw URI text
  bracketed: boolean; // was written as <uri>
  params: Array<[string, string | null]>; // header parameters (tag, expires, q, lr on Route is in the URI)
}

export function parseNameAddr(value: string): NameAddr {
  const v = value.trim();
  let i = 0;
  let display: string | undefined;
  if (v.charCodeAt(0) === 0x22) {
    // quoted display name; an unterminated quote is malformed (RFC 4475 quotbal)
    i = 1;
    for (; i < v.length; i++) {
      const c = v.charCodeAt(i);
      if (c === 0x5c) i++;
      else if (c === 0x22) break;
    }
    if (i >= v.length) throw createError('SIP_ERR_BAD_HEADER', 'unterminated quoted display name', 400);
    display = v.slice(0, i + 1);
    i++;
  }
  const lt = v.indexOf('<', i);
  if (lt !== -1 && (display !== undefined || lt >= 0)) {
    if (display === undefined) {
      const d = v.slice(0, lt).trim();
      if (d !== '') display = d;
    } else if (v.slice(i, lt).trim() !== '') {
      throw createError('SIP_ERR_BAD_HEADER', 'text between display name and <', 400);
    }
    const gt = v.indexOf('>', lt);
    if (gt === -1) throw createError('SIP_ERR_BAD_HEADER', 'unterminated <uri>', 400);
    const uri = v.slice(lt + 1, gt).trim();
    const rest = v.slice(gt + 1).trim();
    if (rest !== '' && rest.charCodeAt(0) !== 0x3b) throw createError('SIP_ERR_BAD_HEADER', 'junk after <uri>', 400);
    return { display, uri, bracketed: true, params: rest === '' ? [] : parseParams(rest.slice(1)) };
  }
  if (display !== undefined) throw createError('SIP_ERR_BAD_HEADER', 'display name without <uri>', 400);
  // addr-spec: parameters after the URI are header parameters (RFC 3261 20.10, RFC 4475 regbadct)
  const semi = v.indexOf(';');
  const uri = (semi === -1 ? v : v.slice(0, semi)).trim();
  if (uri === '' || /\s/.test(uri)) throw createError('SIP_ERR_BAD_HEADER', `malformed addr-spec '${v}'`, 400);
  return { display: undefined, uri, bracketed: false, params: semi === -1 ? [] : parseParams(v.slice(semi + 1)) };
}

export function nameAddrParam(na: NameAddr, name: string): string | null | undefined {
  for (const [k, v] of na.params) if (k === name) return v;
  return undefined;
}

/** The tag parameter of a From/To value, without parsing the URI. */
export function tagOf(value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  const fast = usualTag(value);
  if (fast !== null) return fast;
  const t = nameAddrParam(parseNameAddr(value), 'tag');
  return t === null ? undefined : t;
}

/**
 * The tag of the usual `[display] <uri>;params` value (no quoted display name, no whitespace after
 * '>'), read without building a NameAddr; null for any other shape, which parseNameAddr then reads
 * (and rejects when malformed).
 */
function usualTag(v: string): string | undefined | null {
  // parseNameAddr reads a quoted display name (which may hold '<', '>' and ';') only as the first
  // character of the trimmed value: a value that starts with neither a quote nor whitespace (which
  // trim would take away) has no quote that matters, and needs no search for one
  const c0 = v.charCodeAt(0);
  if (v.length === 0 || c0 === 0x22 || c0 <= 0x20 || c0 === 0xa0 || c0 > 0xff) return null;
  const lt = v.indexOf('<');
  if (lt === -1) return null;
  const gt = v.indexOf('>', lt);
  if (gt === -1) return null;
  if (gt + 1 === v.length) return undefined;
  // the usual tail, `;tag=x` first: checked and read by one native regex (cheaper than a charCodeAt
  // loop over a string sliced from the message)
  TAG_FIRST.lastIndex = gt + 1;
  const m = TAG_FIRST.exec(v);
  if (m !== null) return m[1];
  PLAIN_TAIL.lastIndex = gt + 1;
  return PLAIN_TAIL.test(v) ? plainTag(v, gt) : scannedTag(v, gt);
}

/**
 * What follows '>' in the usual value: plain parameters with lower-case names, no whitespace,
 * quotes or angle brackets. TAG_FIRST: the same with the tag first, captured.
 */
const PLAIN_TAIL = /(?:;[^\x00-\x20"<>\x7f\xa0;=A-Z]+(?:=[^\x00-\x20"<>\x7f\xa0;]*)?)*$/y;
const TAG_FIRST = /;tag=([^\x00-\x20"<>\x7f\xa0;]*)(?:;[^\x00-\x20"<>\x7f\xa0;=A-Z]+(?:=[^\x00-\x20"<>\x7f\xa0;]*)?)*$/y;

/** The tag of a value whose tail PLAIN_TAIL accepted: found with indexOf (';' only separates there). */
function plainTag(v: string, gt: number): string | undefined | null {
  const t = v.indexOf(';tag', gt);
  if (t === -1) return undefined;
  if (v.charCodeAt(t + 4) !== 0x3d) return scannedTag(v, gt); // ';tag' bare, or a longer name
  const end = v.indexOf(';', t + 5);
  return v.slice(t + 5, end === -1 ? v.length : end);
}

/** The tag after '>' found by a scan of the parameters (any case; trailing SP/HTAB allowed). */
function scannedTag(v: string, gt: number): string | undefined | null {
  let end = v.length;
  while (end > gt + 1 && (v.charCodeAt(end - 1) === 0x20 || v.charCodeAt(end - 1) === 0x09)) end--;
  if (end === gt + 1) return undefined;
  if (v.charCodeAt(gt + 1) !== 0x3b) return null;
  // ;a=b;tag=x;c: plain parameters only (parseParams' own fast path, without the pairs)
  let start = gt + 2;
  let eq = -1;
  let tag: string | undefined;
  for (let i = start; i <= end; i++) {
    const c = i === end ? 0x3b : v.charCodeAt(i);
    if (c === 0x3b) {
      const keyEnd = eq === -1 ? i : eq;
      if (tag === undefined && keyEnd - start === 3 && (v.charCodeAt(start) | 0x20) === 0x74 && (v.charCodeAt(start + 1) | 0x20) === 0x61 &&
        (v.charCodeAt(start + 2) | 0x20) === 0x67) {
        if (eq === -1) return null; // a bare ';tag': let the general path say what it is
        tag = v.slice(eq + 1, i);
      }
      start = i + 1;
      eq = -1;
    } else if (c === 0x3d) {
      if (eq === -1) eq = i;
    } else if (c <= 0x20 || c === 0x22 || c === 0x3c || c === 0x3e || c === 0x7f || c === 0xa0) {
      return null;
    }
  }
  return tag;
}

/** The From tag of a request ('' when absent: RFC 2543 peers may omit it). */
export function fromTagOf(req: { get(name: string): string | undefined }): string {
  return tagOf(req.get('from')) ?? '';
}

/** A To (or From) value carries a tag: cheap text test, no parse (in-dialog check on every request). */
export function hasTag(value: string | undefined): boolean {
  return value !== undefined && /;\s*tag\s*=/i.test(value);
}
