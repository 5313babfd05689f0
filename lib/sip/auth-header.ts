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
