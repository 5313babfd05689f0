// Where a request goes: the top Route if any, else the Request-URI (RFC 3261 16.6 step 7), as an
// address, port and transport. Host names are resolved with A/AAAA lookups (no NAPTR/SRV yet).
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import { LRUCache } from 'lru-cache';
import { uriParam, type SipUri } from '../sip/uri.js';
import type { SendTarget, TransportName } from '../transport/types.js';

export function transportOf(uri: SipUri): TransportName {
  const t = uriParam(uri, 'transport');
  if (uri.scheme === 'sips') return 'tls';
  if (typeof t === 'string') {
    const l = t.toLowerCase();
    if (l === 'tcp' || l === 'tls') return l;
  }
  return 'udp';
}

function stripBrackets(host: string): string {
  return host.startsWith('[') ? host.slice(1, -1) : host;
}

/** Host-name lookups in flight at once; more fail at once (503) rather than queue without bound. */
const MAX_LOOKUPS_IN_FLIGHT = 256;
/** A host that did not resolve is not asked again for this long (a flood of requests for an
 *  unresolvable host would otherwise queue one getaddrinfo each in libuv's small thread pool). */
const NEGATIVE_TTL_MS = 30_000;

export class NextHopResolver {
  private readonly cache = new LRUCache<string, string>({ max: 10_000, ttl: 60_000 });
  private readonly failed = new LRUCache<string, true>({ max: 10_000, ttl: NEGATIVE_TTL_MS });
  /** one lookup per host at a time, shared by every request waiting for it */
  private readonly inFlight = new Map<string, Promise<string>>();

  /** A target now when the host is an address or cached; otherwise a promise. */
  resolve(uri: SipUri): SendTarget | Promise<SendTarget> {
    const maddr = uriParam(uri, 'maddr');
    const host = stripBrackets(typeof maddr === 'string' ? maddr : uri.host);
    const transport = transportOf(uri);
    const port = uri.port ?? (transport === 'tls' ? 5061 : 5060);
    if (isIP(host) !== 0) return { transport, address: host, port };
    const cached = this.cache.get(host);
    if (cached !== undefined) return { transport, address: cached, port, host };
    // `;maddr=` with nothing after it (found by the fuzzer): nothing to look up
    if (host === '' || this.failed.has(host)) return Promise.reject(new Error(`cannot resolve '${host}'`));
    let pending = this.inFlight.get(host);
    if (pending === undefined) {
      if (this.inFlight.size >= MAX_LOOKUPS_IN_FLIGHT) return Promise.reject(new Error('too many host-name lookups in flight'));
      pending = lookup(host).then(
        (r) => { this.cache.set(host, r.address); return r.address; },
        (err: unknown) => { this.failed.set(host, true); throw err; },
      ).finally(() => this.inFlight.delete(host));
      this.inFlight.set(host, pending);
    }
    return pending.then((address) => ({ transport, address, port, host }));
  }
}

/** Never send to a broadcast or unspecified address (RFC 4475 3.3.10). */
export function isForbiddenDestination(address: string): boolean {
  return address === '255.255.255.255' || address === '0.0.0.0' || address === '::';
}
