// The relay policy (Kamailio's default config calls it "relay forbidden"): an out-of-dialog request
// whose destination the caller chose and which leaves our domains (a foreign Request-URI host, a
// pre-loaded Route, the dial plan's static routes, lines and trunks) is allowed only from a trusted
// source or from a caller that authenticated as one of our users. Calls to our users stay open to
// anyone. lib/proxy/routing.ts applies it once the routing decision is known.
import type { Peers } from '../peers/peers.js';
import type { NetworkList } from './trusted-networks.js';
import type { Rejection } from '../proxy/request-checks.js';
import type { SendTarget } from '../transport/types.js';

/** Untrusted, unauthenticated, and its From is not in our domains (so it cannot authenticate). */
export const RELAY_FORBIDDEN: Readonly<Rejection> = { status: 403, reason: 'Relay Forbidden' };

/**
 * ACK cannot be challenged or answered (RFC 3261 17.1.1.3, 22.1) and a CANCEL follows its INVITE
 * (16.10: one without a transaction here is forwarded statelessly, e.g. after a pin deadline);
 * neither creates anything at the destination, so the policy leaves both alone.
 */
export function relayPolicyApplies(method: string): boolean {
  return method !== 'ACK' && method !== 'CANCEL';
}

/** A source that may route out without authenticating: a trusted network or a trunk's address. */
export function isTrustedSource(source: SendTarget, trusted: NetworkList, peers: Peers): boolean {
  return trusted.has(source.address) || peers.trunkOfSource(source) !== undefined;
}
