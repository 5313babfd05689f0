// Who "we" are: the addresses we listen on and the domains we serve. Used to recognise our own
// Route / Record-Route / Via entries and to write them.
import { isIP } from 'node:net';
import type { SipUri } from '../sip/uri.js';
import { defaultPort } from '../sip/via.js';
import { advertisedHost } from '../transport/advertise.js';
import type { ListenerConfig, TransportName } from '../transport/types.js';

export class LocalIdentity {
  private readonly domains: Set<string>;
  private readonly hostPorts: Set<string>;
  private readonly hosts: Set<string>;

  constructor(readonly listeners: readonly ListenerConfig[], domains: readonly string[]) {
    this.domains = new Set(domains.map((d) => d.toLowerCase()));
    // both the bound and the advertised host are ours (peers may use either)
    const hostsOf = (l: ListenerConfig): string[] => [hostForm(l.address), hostForm(advertisedHost(l.address, l.advertise))];
    this.hostPorts = new Set(listeners.flatMap((l) => hostsOf(l).map((h) => `${h}:${l.port}`)));
    this.hosts = new Set(listeners.flatMap(hostsOf));
  }

  /** The Request-URI host is one of our domains or listen addresses. */
  isLocalDomain(host: string): boolean {
    return this.domains.has(host) || this.hosts.has(host);
  }

  /** A URI that addresses this proxy itself (our Record-Route, or a strict router's Request-URI). */
  isSelf(uri: SipUri): boolean {
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return false;
    const port = uri.port ?? defaultPort(uri.scheme === 'sips' ? 'TLS' : 'UDP');
    return this.hostPorts.has(`${uri.host}:${port}`) || (uri.port === undefined && this.domains.has(uri.host) && uri.user === undefined);
  }

  /** A Via sent-by that is ours. */
  isSelfSentBy(host: string, port: number | undefined, transport: string): boolean {
    return this.hostPorts.has(`${host}:${port ?? defaultPort(transport)}`);
  }

  listenerFor(transport: TransportName, family: 4 | 6 = 4): ListenerConfig {
    const same = this.listeners.filter((l) => l.transport === transport);
    const fam = same.find((l) => (isIP(l.address) === 6) === (family === 6));
    const l = fam ?? same[0] ?? this.listeners[0];
    if (l === undefined) throw new Error('no listeners');
    return l;
  }

  sentBy(transport: TransportName, family: 4 | 6 = 4): string {
    const l = this.listenerFor(transport, family);
    return `${hostForm(advertisedHost(l.address, l.advertise))}:${l.port}`;
  }

  recordRoute(transport: TransportName, family: 4 | 6 = 4): string {
    // RFC 5630 3.1.2 / RFC 3261 26.2: a TLS leg is recorded as sips (transport=tls is deprecated)
    if (transport === 'tls') return `<sips:${this.sentBy(transport, family)};lr>`;
    const t = transport === 'udp' ? '' : `;transport=${transport}`;
    return `<sip:${this.sentBy(transport, family)}${t};lr>`;
  }
}

export function hostForm(address: string): string {
  return isIP(address) === 6 ? `[${address.toLowerCase()}]` : address.toLowerCase();
}
