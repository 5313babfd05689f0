// Who "we" are: the addresses we listen on and the domains we serve. Used to recognise our own
// Route / Record-Route / Via entries and to write them.
import { isIP } from 'node:net';
import type { SipUri } from '../sip/uri.js';
import { defaultPort } from '../sip/via.js';
import { advertisedHost } from '../transport/advertise.js';
import type { ListenerConfig, TransportName } from '../transport/types.js';

/** What we write about ourselves on one transport and address family (built once: every forwarded message needs it). */
interface Written { sentBy: string; recordRoute: string; viaPrefix: string }

export class LocalIdentity {
  private readonly domains: Set<string>;
  /** our hosts (host form: IPv6 in brackets) and the ports we listen on with each */
  private readonly portsOf: Map<string, Set<number>>;
  private readonly hosts: Set<string>;
  /** by transport, then [IPv4, IPv6] */
  private readonly written = new Map<TransportName, [Written | undefined, Written | undefined]>();

  constructor(readonly listeners: readonly ListenerConfig[], domains: readonly string[]) {
    this.domains = new Set(domains.map((d) => d.toLowerCase()));
    // both the bound and the advertised host are ours (peers may use either)
    const hostsOf = (l: ListenerConfig): string[] => [hostForm(l.address), hostForm(advertisedHost(l.address, l.advertise))];
    this.portsOf = new Map();
    for (const l of listeners) for (const h of hostsOf(l)) this.portsOf.set(h, (this.portsOf.get(h) ?? new Set<number>()).add(l.port));
    this.hosts = new Set(listeners.flatMap(hostsOf));
  }

  private isOurs(host: string, port: number): boolean {
    return this.portsOf.get(host)?.has(port) === true;
  }

  /** The Request-URI host is one of our domains or listen addresses. */
  isLocalDomain(host: string): boolean {
    return this.domains.has(host) || this.hosts.has(host);
  }

  /** A URI that addresses this proxy itself (our Record-Route, or a strict router's Request-URI). */
  isSelf(uri: SipUri): boolean {
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return false;
    const port = uri.port ?? defaultPort(uri.scheme === 'sips' ? 'TLS' : 'UDP');
    return this.isOurs(uri.host, port) || (uri.port === undefined && this.domains.has(uri.host) && uri.user === undefined);
  }

  /** A Via sent-by that is ours. */
  isSelfSentBy(host: string, port: number | undefined, transport: string): boolean {
    return this.isOurs(host, port ?? defaultPort(transport));
  }

  listenerFor(transport: TransportName, family: 4 | 6 = 4): ListenerConfig {
    const same = this.listeners.filter((l) => l.transport === transport);
    const fam = same.find((l) => (isIP(l.address) === 6) === (family === 6));
    const l = fam ?? same[0] ?? this.listeners[0];
    if (l === undefined) throw new Error('no listeners');
    return l;
  }

  /** Our Via sent-by (`host:port`) for messages leaving on this transport and family. */
  sentBy(transport: TransportName, family: 4 | 6 = 4): string {
    return this.writtenFor(transport, family).sentBy;
  }

  /** Our Record-Route value for a leg on this transport and family. */
  recordRoute(transport: TransportName, family: 4 | 6 = 4): string {
    return this.writtenFor(transport, family).recordRoute;
  }

  /** Our Via value up to its branch value: `SIP/2.0/UDP host:port;branch=`. */
  viaPrefix(transport: TransportName, family: 4 | 6 = 4): string {
    return this.writtenFor(transport, family).viaPrefix;
  }

  private writtenFor(transport: TransportName, family: 4 | 6): Written {
    let byFamily = this.written.get(transport);
    if (byFamily === undefined) this.written.set(transport, byFamily = [undefined, undefined]);
    const f = family === 6 ? 1 : 0;
    return byFamily[f] ??= this.write(transport, family);
  }

  private write(transport: TransportName, family: 4 | 6): Written {
    const l = this.listenerFor(transport, family);
    const sentBy = `${hostForm(advertisedHost(l.address, l.advertise))}:${l.port}`;
    // RFC 5630 3.1.2 / RFC 3261 26.2: a TLS leg is recorded as sips (transport=tls is deprecated)
    const recordRoute = transport === 'tls' ? `<sips:${sentBy};lr>` : `<sip:${sentBy}${transport === 'udp' ? '' : `;transport=${transport}`};lr>`;
    return { sentBy, recordRoute, viaPrefix: `SIP/2.0/${transport.toUpperCase()} ${sentBy};branch=` };
  }
}

export function hostForm(address: string): string {
  return isIP(address) === 6 ? `[${address.toLowerCase()}]` : address.toLowerCase();
}
