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

/** Host-name lookups running at once; more fail at once (503) rather than queue without bound. */
const MAX_LOOKUPS_IN_FLIGHT = 256;
/** A host that did not resolve is not asked again for this long (a flood of requests for an
 *  unresolvable host would otherwise queue one getaddrinfo each in libuv's small thread pool). */
const NEGATIVE_TTL_MS = 30_000;
/**
 * Longest wait for a lookup. The requests waiting for it hold a transaction with no timer running
 * yet, and getaddrinfo can take far longer than a SIP exchange (resolver retries and timeouts: the
 * fuzzer left hundreds of transactions waiting on a few lookups after every timer had run). After
 * this the requests fail (503) and the host counts as unresolvable; the lookup itself still holds
 * its pool thread until the system gives up, and counts against MAX_LOOKUPS_IN_FLIGHT until then.
 */
const LOOKUP_TIMEOUT_MS = 8_000;

export type HostLookup = (host: string) => Promise<{ address: string }>;

export interface NextHopOptions {
  /** the system resolver (getaddrinfo) unless a test gives another */
  lookup?: HostLookup;
  timeoutMs?: number;
}

export class NextHopResolver {
  private readonly cache = new LRUCache<string, string>({ max: 10_000, ttl: 60_000 });
  private readonly failed = new LRUCache<string, true>({ max: 10_000, ttl: NEGATIVE_TTL_MS });
  /** one lookup per host at a time, shared by every request waiting for it */
  private readonly inFlight = new Map<string, Promise<string>>();
  /** lookups not yet answered by the system, timed-out ones included */
  private running = 0;
  private readonly lookup: HostLookup;
  private readonly timeoutMs: number;

  constructor(opts: NextHopOptions = {}) {
    this.lookup = opts.lookup ?? ((host) => lookup(host));
    this.timeoutMs = opts.timeoutMs ?? LOOKUP_TIMEOUT_MS;
  }

  /** Lookups the system has not answered yet (timed-out ones included). */
  get lookupsRunning(): number {
    return this.running;
  }

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
      if (this.running >= MAX_LOOKUPS_IN_FLIGHT) return Promise.reject(new Error('too many host-name lookups in flight'));
      pending = this.lookUp(host);
      this.inFlight.set(host, pending);
    }
    return pending.then((address) => ({ transport, address, port, host }));
  }

  /** The system's answer for `host`, or a rejection once timeoutMs has passed without one. */
  private lookUp(host: string): Promise<string> {
    this.running++;
    const answer = this.lookup(host).finally(() => { this.running--; });
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`host-name lookup of '${host}' took over ${this.timeoutMs} ms`)), this.timeoutMs);
      timer.unref();
    });
    return Promise.race([answer, timeout]).then(
      (r) => { this.cache.set(host, r.address); return r.address; },
      (err: unknown) => { this.failed.set(host, true); throw err; },
    ).finally(() => {
      clearTimeout(timer);
      this.inFlight.delete(host);
    });
  }
}

/** Never send to a broadcast or unspecified address (RFC 4475 3.3.10). */
export function isForbiddenDestination(address: string): boolean {
  return address === '255.255.255.255' || address === '0.0.0.0' || address === '::';
}
