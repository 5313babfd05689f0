// Request-URI parameters per peer (seed points 5 and 8): `requestUriParams` of a line or trunk is
// appended to the Request-URI of out-of-dialog requests sent to it, never duplicating a parameter
// the URI already has. Pure: the routing and the line client call it.
import { parseParams } from '../sip/split.js';
import { formatUri, parseUri } from '../sip/uri.js';

export type UriParams = ReadonlyArray<readonly [string, string | null]>;

/** `user=phone;x=1` (a leading `;` tolerated) as ordered pairs; '' is none. */
export function parseUriParams(text: string): UriParams {
  const t = text.startsWith(';') ? text.slice(1) : text;
  return t === '' ? [] : parseParams(t);
}

/** Chinese locales (zh, zh-CN, zh-TW, zh-Hans-CN...) get `user=phone` on lines by default (seed point 5). */
export function defaultLineUriParams(locale: string): string {
  return /^zh(-|$)/i.test(locale) ? 'user=phone' : '';
}

/** A line's parameters: its own setting when given (even ''), else the locale default. */
export function lineUriParams(requestUriParams: string | undefined, locale: string): UriParams {
  return parseUriParams(requestUriParams ?? defaultLineUriParams(locale));
}

/** The URI with each parameter added unless one of that name is already there (names compare case-insensitively). */
export function appendUriParams(uri: string, params: UriParams): string {
  if (params.length === 0) return uri;
  const u = parseUri(uri);
  if (u.scheme !== 'sip' && u.scheme !== 'sips') return uri;
  let changed = false;
  for (const [k, v] of params) {
    if (u.params.some(([n]) => n === k)) continue;
    u.params.push([k, v]);
    changed = true;
  }
  return changed ? formatUri(u) : uri;
}
