// Via header values (RFC 3261 20.42, RFC 3581 rport).
import { createError } from '../errors.js';
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

export function viaParam(via: Via, name: string): string | null | undefined {
  for (const [k, val] of via.params) if (k === name) return val;
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
