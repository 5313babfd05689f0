// The peer side of routing: who may speak for a trunk (403 otherwise), calls arriving on a line,
// and dial-plan targets towards lines and trunks.
import type { Rejection } from '../proxy/request-checks.js';
import { appendUriParams } from '../policy/uri-params.js';
import type { SipMessage } from '../sip/message.js';
import { parseNameAddr } from '../sip/name-addr.js';
import { formatUri, parseUri, type SipUri } from '../sip/uri.js';
import type { SendTarget } from '../transport/types.js';
import type { PeerTarget } from './peer-legs.js';
import type { Line, Peers, Trunk } from './peers.js';

/** A forwarding target towards a peer: the Request-URI, where to send it, and the peer. */
export interface PeerRouteTarget { uri: string; hop: SipUri; peer: PeerTarget }

/**
 * A request whose From host is one of a trunk's domains or addresses must come from one of the
 * trunk's addresses (our own domains are never a claim: local users use them).
 */
export function checkTrunkClaim(req: SipMessage, source: SendTarget, peers: Peers, isLocalDomain: (host: string) => boolean): Rejection | undefined {
  const from = req.get('from');
  if (from === undefined) return undefined;
  const uri = parseUri(parseNameAddr(from).uri);
  if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return undefined;
  const trunk = peers.trunkClaimedBy(uri.host);
  if (trunk === undefined || isLocalDomain(uri.host) || peers.isFrom(trunk, source)) return undefined;
  return { status: 403, reason: 'Forbidden' };
}

/** Where a call that arrived on a line goes: its user, or the dial plan with a number. */
export type LineInbound = { kind: 'user'; user: string } | { kind: 'number'; number: string };

export function lineInbound(line: Line, calledNumber: string): LineInbound {
  const c = line.config;
  if (c.inboundUser !== '') return { kind: 'user', user: c.inboundUser };
  return { kind: 'number', number: c.inboundNumber !== '' ? c.inboundNumber : calledNumber };
}

function hostPortOf(hop: SipUri): string {
  return formatUri({ ...hop, scheme: 'sip', user: undefined, params: [] }).slice(4);
}

/** The call to `user` (escaped) out through a line: the provider's domain, the line's parameters. */
export function lineTarget(line: Line, user: string): PeerRouteTarget {
  return { uri: appendUriParams(`sip:${user}@${line.domain}`, line.uriParams), hop: line.hop, peer: { kind: 'line', line } };
}

/** The call to `user` (escaped) to a trunk's first address, with the trunk's parameters. */
export function trunkTarget(trunk: Trunk, user: string): PeerRouteTarget {
  return { uri: appendUriParams(`sip:${user}@${hostPortOf(trunk.hop)}`, trunk.uriParams), hop: trunk.hop, peer: { kind: 'trunk', trunk } };
}
