// Lines and trunks as the shard uses them, resolved once from the config: addresses, next hops,
// Request-URI parameters, and who a request comes from or claims to come from (a trunk).
import { isIP } from 'node:net';
import type { Config, LineConfig, TrunkConfig } from '../config/schema.js';
import { lineUriParams, parseUriParams, type UriParams } from '../policy/uri-params.js';
import { normalizeAddress } from '../transport/connection-table.js';
import { parseHostPort, parseUri, uriParam, type SipUri } from '../sip/uri.js';
import type { SendTarget, TransportName } from '../transport/types.js';

/** URI parameter of the Contact we register for a line: the provider's calls carry it back. */
export const LINE_PARAM = 'line';

export interface Line {
  name: string;
  config: LineConfig;
  /** host of the address-of-record (and of Request-URIs of calls on the line) */
  domain: string;
  /** `sip:<username>@<domain>`: From/To of REGISTER, From of calls on the line */
  aor: string;
  uriParams: UriParams;
  /** where REGISTERs and calls are sent: the outbound proxy, else the registrar (transport set) */
  hop: SipUri;
  authUsername: string;
}

export interface TrunkAddress { address: string; port: number | undefined }

export interface Trunk {
  /** position in config.trunks: the slot of its shared call counter */
  index: number;
  name: string;
  config: TrunkConfig;
  addresses: TrunkAddress[];
  uriParams: UriParams;
  /** the first address as a SIP URI with the trunk's transport: where calls and OPTIONS go */
  hop: SipUri;
  domains: ReadonlySet<string>;
}

function withTransport(host: string, port: number | undefined, transport: TransportName): SipUri {
  return { scheme: 'sip', user: undefined, password: undefined, host, port, params: transport === 'udp' ? [] : [['transport', transport]], headers: undefined, opaque: undefined };
}

function parseAddress(text: string): TrunkAddress {
  // a bare IPv6 address has colons but no port
  if (isIP(text) !== 0) return { address: text.toLowerCase(), port: undefined };
  const { host, port } = parseHostPort(text);
  return { address: host.replace(/^\[|\]$/g, ''), port };
}

function hostOf(a: TrunkAddress): string {
  return isIP(a.address) === 6 ? `[${a.address}]` : a.address;
}

function resolveLine(c: LineConfig, locale: string): Line {
  const registrar = parseUri(c.registrar);
  const domain = c.domain !== '' ? c.domain.toLowerCase() : registrar.host;
  const via = c.outboundProxy !== '' ? parseUri(c.outboundProxy) : registrar;
  const hop = via.scheme === 'sips' ? via : withTransport(via.host, via.port, c.transport);
  const maddr = uriParam(via, 'maddr');
  if (typeof maddr === 'string') hop.params.push(['maddr', maddr]);
  return {
    name: c.name, config: c, domain, aor: `sip:${c.username}@${domain}`,
    uriParams: lineUriParams(c.requestUriParams, locale), hop, authUsername: c.authUsername !== '' ? c.authUsername : c.username,
  };
}

function resolveTrunk(c: TrunkConfig, index: number): Trunk {
  const addresses = c.addresses.map(parseAddress);
  const first = addresses[0]!;
  return {
    index, name: c.name, config: c, addresses, uriParams: parseUriParams(c.requestUriParams),
    hop: withTransport(hostOf(first), first.port, c.transport), domains: new Set(c.domains.map((d) => d.toLowerCase())),
  };
}

export class Peers {
  readonly lines = new Map<string, Line>();
  readonly trunks = new Map<string, Trunk>();
  readonly trunkList: Trunk[];
  /** trunks by a host they may claim in From: each domain and each address */
  private readonly claims = new Map<string, Trunk>();
  /** trunks by each of their addresses (IP only: the port is checked by isFrom) */
  private readonly bySourceAddress = new Map<string, Trunk[]>();

  constructor(config: Pick<Config, 'lines' | 'trunks' | 'locale'>) {
    for (const l of config.lines) this.lines.set(l.name, resolveLine(l, config.locale));
    this.trunkList = config.trunks.map(resolveTrunk);
    for (const t of this.trunkList) {
      this.trunks.set(t.name, t);
      for (const d of t.domains) this.claims.set(d, t);
      for (const a of t.addresses) {
        this.claims.set(hostOf(a), t);
        const same = this.bySourceAddress.get(a.address);
        if (same === undefined) this.bySourceAddress.set(a.address, [t]);
        else if (!same.includes(t)) same.push(t);
      }
    }
  }

  get empty(): boolean {
    return this.lines.size === 0 && this.trunkList.length === 0;
  }

  /**
   * The source is one of this trunk's addresses (an address with a port also pins the source port
   * of UDP requests; stream sources use ephemeral ports).
   */
  isFrom(trunk: Trunk, source: SendTarget): boolean {
    return trunk.addresses.some((a) => a.address === source.address && (a.port === undefined || source.transport !== 'udp' || a.port === source.port));
  }

  /** The trunk this source is one of the addresses of, if any. */
  trunkOfSource(source: SendTarget): Trunk | undefined {
    if (this.bySourceAddress.size === 0) return undefined;
    const address = normalizeAddress(source.address);
    const candidates = this.bySourceAddress.get(address);
    return candidates?.find((t) => this.isFrom(t, address === source.address ? source : { ...source, address }));
  }

  /** The trunk a From host claims (one of its domains or addresses), if any. */
  trunkClaimedBy(host: string): Trunk | undefined {
    return this.claims.get(host.toLowerCase());
  }

  /** The line a request from a provider arrived on: the `line` parameter of our registered Contact. */
  lineOfRequestUri(uri: SipUri): Line | undefined {
    const name = uriParam(uri, LINE_PARAM);
    return typeof name === 'string' ? this.lines.get(name) : undefined;
  }
}
