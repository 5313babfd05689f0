// Incoming tel: URIs (RFC 3966) become SIP URIs in our domain for routing (DESIGN.md, seed point 8).
import { formatParams } from '../sip/split.js';
import type { SipUri } from '../sip/uri.js';

/** The dialled number with visual separators removed (RFC 3966 5.1.1). */
export function telNumber(uri: SipUri): string {
  return (uri.user ?? '').replace(/[-.()]/g, '');
}

/** `tel:+86-139-0108-8888;phone-context=x` -> `sip:+8613901088888;phone-context=x@domain;user=phone` */
export function telToSip(uri: SipUri, domain: string): string {
  const ctx = uri.params.filter(([k]) => k === 'phone-context');
  return `sip:${telNumber(uri)}${formatParams(ctx)}@${domain};user=phone`;
}
