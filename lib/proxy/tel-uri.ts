// Incoming tel: URIs (RFC 3966) become SIP URIs in our domain for routing (DESIGN.md, seed point 8).
import { parseNameAddr } from '../sip/name-addr.js';
import { formatParams } from '../sip/split.js';
import { parseUri, type SipUri } from '../sip/uri.js';

/** The dialled number with visual separators removed (RFC 3966 5.1.1). */
export function telNumber(uri: SipUri): string {
  return (uri.user ?? '').replace(/[-.()]/g, '');
}

/** `tel:+86-139-0108-8888;phone-context=x` -> `sip:+8613901088888;phone-context=x@domain;user=phone` */
export function telToSip(uri: SipUri, domain: string): string {
  const ctx = uri.params.filter(([k]) => k === 'phone-context');
  return `sip:${telNumber(uri)}${formatParams(ctx)}@${domain};user=phone`;
}

/** A To (or From) value whose URI is tel:, rewritten with the SIP form (display name and params kept); else undefined. */
export function telToHeader(value: string, domain: string): string | undefined {
  const na = parseNameAddr(value);
  if (!/^tel:/i.test(na.uri)) return undefined;
  const display = na.display !== undefined ? `${na.display} ` : '';
  return `${display}<${telToSip(parseUri(na.uri), domain)}>${formatParams(na.params)}`;
}
