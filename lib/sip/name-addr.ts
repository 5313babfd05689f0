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
  const t = nameAddrParam(parseNameAddr(value), 'tag');
  return t === null ? undefined : t;
}

/** The From tag of a request ('' when absent: RFC 2543 peers may omit it). */
export function fromTagOf(req: { get(name: string): string | undefined }): string {
  return tagOf(req.get('from')) ?? '';
}

/** A To (or From) value carries a tag: cheap text test, no parse (in-dialog check on every request). */
export function hasTag(value: string | undefined): boolean {
  return value !== undefined && /;\s*tag\s*=/i.test(value);
}
