// IP networks in CIDR notation (IPv4 and IPv6) and the test "is this source address in one of
// them", for the relay policy's `security.trustedNetworks`. The config check parses each entry
// with parseNetwork (one wording of what is allowed, for errors and docs alike); the shard builds a
// NetworkList once and asks it per out-of-dialog request that would leave our domains.
import { isIP } from 'node:net';
import { createError } from '../errors.js';
import { normalizeAddress } from '../transport/connection-table.js';

export const NETWORK_ALLOWED = 'an IPv4 or IPv6 network in CIDR notation (10.0.0.0/8, 2001:db8::/32) or a single address';

/** An IPv4 network: `(ip & mask) === base`; IPv6: the same over four 32-bit words. */
export type Network =
  | { family: 4; base: number; mask: number; prefix: number }
  | { family: 6; base: Uint32Array; mask: Uint32Array; prefix: number };

/** The network, or what is wrong with the text (reads after "must be"). */
export function parseNetwork(text: string): Network | { error: string } {
  const slash = text.indexOf('/');
  const address = slash === -1 ? text : text.slice(0, slash);
  const family = isIP(address);
  if (family === 0) return { error: NETWORK_ALLOWED };
  const max = family === 4 ? 32 : 128;
  const lengthText = slash === -1 ? String(max) : text.slice(slash + 1);
  if (!/^\d{1,3}$/.test(lengthText) || Number(lengthText) > max) return { error: `${NETWORK_ALLOWED}; the prefix length of an IPv${family} network is 0..${max}` };
  const prefix = Number(lengthText);
  const net = family === 4 ? v4Network(ipv4Word(address), prefix) : v6Network(ipv6Words(address), prefix);
  // 10.1.2.3/8 is most likely a typo for a host or a network: say which network it would mean
  const canonical = formatNetwork(net);
  if (!sameNetworkText(net, address)) return { error: `a network address with the host bits clear (${canonical}, or the address alone for one host)` };
  return net;
}

function v4Network(ip: number, prefix: number): Network {
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
  return { family: 4, base: (ip & mask) >>> 0, mask, prefix };
}

function v6Network(words: Uint32Array, prefix: number): Network {
  const mask = new Uint32Array(4);
  const base = new Uint32Array(4);
  for (let i = 0; i < 4; i++) {
    const bits = Math.max(0, Math.min(32, prefix - 32 * i));
    mask[i] = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
    base[i] = (words[i]! & mask[i]!) >>> 0;
  }
  return { family: 6, base, mask, prefix };
}

/** True when the address has no bits outside the network's prefix. */
function sameNetworkText(net: Network, address: string): boolean {
  if (net.family === 4) return ipv4Word(address) === net.base;
  const words = ipv6Words(address);
  return words.every((w, i) => w === net.base[i]);
}

function formatNetwork(net: Network): string {
  if (net.family === 4) {
    const b = net.base;
    return `${b >>> 24}.${(b >>> 16) & 255}.${(b >>> 8) & 255}.${b & 255}/${net.prefix}`;
  }
  const groups: string[] = [];
  for (const w of net.base) groups.push((w >>> 16).toString(16), (w & 0xffff).toString(16));
  // a run of zero groups becomes "::" (RFC 5952 4.2)
  const text = groups.join(':').replace(/(^|:)0(:0)+(:|$)/, '::');
  return `${text}/${net.prefix}`;
}

/** A dotted-quad IPv4 address (already known valid) as an unsigned 32-bit number. */
export function ipv4Word(address: string): number {
  let word = 0;
  let octet = 0;
  for (let i = 0; i < address.length; i++) {
    const c = address.charCodeAt(i);
    if (c === 0x2e) { word = word * 256 + octet; octet = 0; } else octet = octet * 10 + c - 0x30;
  }
  return word * 256 + octet;
}

/** An IPv6 address (already known valid, zone id allowed) as four 32-bit words. */
export function ipv6Words(address: string): Uint32Array {
  const zone = address.indexOf('%');
  const text = zone === -1 ? address : address.slice(0, zone);
  const halves = text.split('::');
  const groupsOf = (part: string): number[] => {
    if (part === '') return [];
    const out: number[] = [];
    for (const g of part.split(':')) {
      if (g.includes('.')) {
        const v4 = ipv4Word(g);
        out.push(v4 >>> 16, v4 & 0xffff);
      } else out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groupsOf(halves[0]!);
  const tail = halves.length > 1 ? groupsOf(halves[1]!) : [];
  const groups = [...head, ...new Array<number>(8 - head.length - tail.length).fill(0), ...tail];
  const words = new Uint32Array(4);
  for (let i = 0; i < 4; i++) words[i] = ((groups[2 * i]! << 16) | groups[2 * i + 1]!) >>> 0;
  return words;
}

/** Most source addresses remembered with their verdict (cleared whole when full: stays bounded). */
const MEMO_MAX = 4096;

export class NetworkList {
  readonly #v4: Array<Extract<Network, { family: 4 }>> = [];
  readonly #v6: Array<Extract<Network, { family: 6 }>> = [];
  /** the verdict per source address: phones and peers send many requests each */
  readonly #memo = new Map<string, boolean>();

  /** `networks` come from a validated config; an invalid entry is a defect (SIP_ERR_CONFIG). */
  constructor(networks: readonly string[]) {
    for (const text of networks) {
      const net = parseNetwork(text);
      if ('error' in net) throw createError('SIP_ERR_CONFIG', `bad network '${text}': must be ${net.error}`);
      if (net.family === 4) this.#v4.push(net);
      else if (net.prefix >= 96 && net.base[0] === 0 && net.base[1] === 0 && net.base[2] === 0xffff) {
        // ::ffff:10.0.0.0/104 is 10.0.0.0/8: sources are matched in their IPv4 form (see has)
        this.#v4.push({ family: 4, base: net.base[3]!, mask: net.mask[3]!, prefix: net.prefix - 96 });
      } else this.#v6.push(net);
    }
  }

  get empty(): boolean {
    return this.#v4.length === 0 && this.#v6.length === 0;
  }

  /** The address (as a socket reports it: IPv4, IPv6, or IPv4-mapped IPv6) is in one of the networks. */
  has(address: string): boolean {
    if (this.empty) return false;
    const known = this.#memo.get(address);
    if (known !== undefined) return known;
    const verdict = this.#match(address);
    if (this.#memo.size >= MEMO_MAX) this.#memo.clear();
    this.#memo.set(address, verdict);
    return verdict;
  }

  #match(address: string): boolean {
    const ip = normalizeAddress(address); // ::ffff:10.1.2.3 from a dual-stack socket is 10.1.2.3
    const family = isIP(ip);
    if (family === 4) {
      const word = ipv4Word(ip);
      return this.#v4.some((n) => ((word & n.mask) >>> 0) === n.base);
    }
    if (family !== 6) return false;
    const words = ipv6Words(ip);
    return this.#v6.some((n) => ((words[0]! & n.mask[0]!) >>> 0) === n.base[0] && ((words[1]! & n.mask[1]!) >>> 0) === n.base[1]
      && ((words[2]! & n.mask[2]!) >>> 0) === n.base[2] && ((words[3]! & n.mask[3]!) >>> 0) === n.base[3]);
  }
}
