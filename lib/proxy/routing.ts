// Request routing (RFC 3261 16.4-16.5): route-set preprocessing, in-dialog requests, the registrar,
// local users' bindings, static routes, INVITE authentication of local callers, and the relay
// policy (lib/security/caller-policy.ts) on destinations that leave our domains.
import type { DialogTable } from '../dialog/dialog-table.js';
import type { Logger } from '../log.js';
import type { PeerTarget } from '../peers/peer-legs.js';
import { checkTrunkClaim, lineInbound, lineTarget, trunkTarget } from '../peers/peer-routing.js';
import type { Peers } from '../peers/peers.js';
import type { StaticRoutes } from '../peers/static-routes.js';
import type { DigestAuthenticator } from '../registrar/authenticator.js';
import type { BindingUpdate } from '../registrar/binding.js';
import { canonicalAor, type LocationService } from '../registrar/location-store.js';
import type { Registrar } from '../registrar/registrar.js';
import type { SipMessage } from '../sip/message.js';
import { parseNameAddr, hasTag, tagOf } from '../sip/name-addr.js';
import { parseAuthValue } from '../sip/auth-header.js';
import { buildResponse } from '../sip/response.js';
import { formatParams } from '../sip/split.js';
import { escapeUser, parseUri, unescapeUser, type SipUri } from '../sip/uri.js';
import type { NetworkList } from '../security/trusted-networks.js';
import { isTrustedSource, RELAY_FORBIDDEN, relayPolicyApplies } from '../security/caller-policy.js';
import type { SendTarget } from '../transport/types.js';
import type { LocalIdentity } from './local-identity.js';
import type { Rejection } from './request-checks.js';
import type { ShardStats } from './shard-stats.js';
import { telToSip, telToHeader } from './tel-uri.js';

export interface Target {
  /** the Request-URI of the forwarded copy */
  uri: string;
  /** where to send it, when known better than the URI (a registered phone's source address) */
  dest?: SendTarget;
  /** the next hop when it is not the Request-URI's host (a line's proxy, a trunk's address) */
  hop?: SipUri;
  /** a line or trunk: the proxy core admits, edits and accounts the request through PeerLegs */
  peer?: PeerTarget;
}

export type RoutingDecision =
  // `user`: the local user the Request-URI named (call forwarding applies its rules)
  // `alternates` are tried one at a time, each after the previous failed (trunk failover)
  | { kind: 'forward'; targets: Target[]; alternates?: Target[]; user?: string }
  | { kind: 'reply'; rejection: Rejection; user?: string }
  | { kind: 'local'; response: SipMessage };

export interface RoutingDeps {
  identity: LocalIdentity;
  domains: readonly string[];
  registrar: Registrar;
  location: LocationService;
  users: ReadonlyMap<string, { password: string }>;
  routes: StaticRoutes;
  peers: Peers;
  /** `security.trustedNetworks` (relay policy); replaced by a live reload */
  trustedNetworks: NetworkList;
  inviteAuth: DigestAuthenticator | undefined;
  dialogs: DialogTable;
  log: Logger;
  onBindingUpdate(update: BindingUpdate): void;
  /** wrong credentials from this source (the main thread backs off repeated offenders) */
  onAuthFailure?(source: SendTarget): void;
  /** the relay policy's refusals (403) and challenges (407) */
  stats: Pick<ShardStats, 'relayForbidden' | 'relayChallenged'>;
  toTag(): string;
  now(): number;
}

const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, UPDATE, INFO, MESSAGE, SUBSCRIBE, NOTIFY, REFER';

export function decideTargets(req: SipMessage, source: SendTarget, deps: RoutingDeps): RoutingDecision {
  const { identity } = deps;
  let uri = req.requestUri();
  // 16.4: a strict router upstream put our URI in the Request-URI; the real one is the last Route
  if (identity.isSelf(uri) && req.has('route')) {
    const routes = req.getAll('route');
    req.uri = parseNameAddr(routes.pop()!).uri;
    req.remove('route');
    for (const r of routes) req.append('Route', r);
    uri = req.requestUri();
  }
  // 16.4: our own Route entries (one, or two when we record-routed across transports)
  for (let top = req.firstValue('route'); top !== undefined; top = req.firstValue('route')) {
    if (!identity.isSelf(parseUri(parseNameAddr(top).uri))) break;
    req.shift('route');
  }
  const inDialog = hasTag(req.get('to'));
  // a pre-loaded Route to someone else: the caller picked where it goes
  if (req.has('route')) return inDialog ? forward({ uri: req.uri }) : admitCaller(req, source, deps, forward({ uri: req.uri }), false);

  const domain = deps.domains[0] ?? identity.sentBy('udp');
  if (uri.scheme === 'tel') {
    req.uri = telToSip(uri, domain);
    uri = req.requestUri();
  }
  const to = req.get('to');
  // the cheap test first: a To is parsed only when it may hold a tel: URI
  if (!inDialog && to !== undefined && /tel:/i.test(to)) {
    const sipTo = telToHeader(to, domain);
    if (sipTo !== undefined) req.set('To', sipTo);
  }
  if (!deps.peers.empty) {
    const denied = checkTrunkClaim(req, source, deps.peers, (h) => identity.isLocalDomain(h));
    if (denied !== undefined) return { kind: 'reply', rejection: denied };
  }
  const local = identity.isLocalDomain(uri.host) || identity.isSelf(uri);
  if (inDialog) {
    // UAs that ignore Record-Route send in-dialog requests to us without a Route: use the dialog
    if (local) {
      const t = dialogTarget(req, deps.dialogs);
      if (t !== undefined) return forward(t);
    } else {
      return forward({ uri: req.uri });
    }
  }
  if (!local) {
    const auth = authenticateCaller(req, source, deps, false);
    if (auth !== undefined && auth !== VERIFIED) return { kind: 'reply', rejection: auth };
    return admitCaller(req, source, deps, targetsOf(req.uri, uri, false, deps), auth === VERIFIED);
  }
  const line = deps.peers.lineOfRequestUri(uri);
  if (line !== undefined && uri.user !== undefined) {
    const to = lineInbound(line, unescapeUser(uri.user));
    if (to.kind === 'user') return localUser(to.user, deps);
    const routed = routeByNumber(to.number, deps) ?? { kind: 'reply', rejection: { status: 404 } };
    // anyone can put `;line=` in a Request-URI: only a number the config fixes is not the caller's pick
    return line.config.inboundNumber !== '' ? routed : admitCaller(req, source, deps, routed, false);
  }
  if (req.method === 'REGISTER') {
    const { response, update, authFailed } = deps.registrar.handle(req, { transport: source.transport, address: source.address, port: source.port, connId: source.connId ?? 0 });
    if (update !== undefined) deps.onBindingUpdate(update);
    if (authFailed === true) deps.onAuthFailure?.(source);
    return { kind: 'local', response };
  }
  if (uri.user === undefined) {
    if (req.method !== 'OPTIONS') return { kind: 'reply', rejection: { status: 404 } };
    const res = buildResponse(req, 200, { toTag: deps.toTag(), headers: [['Allow', ALLOW], ['Accept', 'application/sdp'], ['Supported', 'path']] });
    return { kind: 'local', response: res };
  }
  const auth = authenticateCaller(req, source, deps, false);
  if (auth !== undefined && auth !== VERIFIED) return { kind: 'reply', rejection: auth };
  return admitCaller(req, source, deps, targetsOf(req.uri, uri, true, deps), auth === VERIFIED);
}

/**
 * The relay policy on a routing decision. Our users' bindings (and 404/480 about them) are open to
 * anyone: incoming calls. Any other destination (static route, line, trunk, foreign host) needs a
 * trusted source (trusted network, trunk address) or a caller authenticated as one of our users:
 * a From in our domains is challenged (407), any other gets 403.
 */
function admitCaller(req: SipMessage, source: SendTarget, deps: RoutingDeps, decision: RoutingDecision, authenticated: boolean): RoutingDecision {
  if (decision.kind !== 'forward' || decision.user !== undefined || authenticated) return decision;
  if (!relayPolicyApplies(req.method) || isTrustedSource(source, deps.trustedNetworks, deps.peers)) return decision;
  const auth = authenticateCaller(req, source, deps, true);
  if (auth === VERIFIED) return decision;
  if (auth === undefined) {
    deps.stats.relayForbidden++;
    return { kind: 'reply', rejection: RELAY_FORBIDDEN };
  }
  if (auth.status === 407) deps.stats.relayChallenged++;
  return { kind: 'reply', rejection: auth };
}

/**
 * Targets of a Request-URI once it is known to be ours to route (no Route, not in a dialog): a
 * local user's bindings (480 without any), else the dial plan, else 404 in our domains or the
 * URI itself elsewhere. Call forwarding routes each new target through here too.
 */
export function targetsOf(text: string, uri: SipUri, local: boolean, deps: RoutingDeps): RoutingDecision {
  const user = uri.user === undefined ? undefined : unescapeUser(uri.user);
  if (local && user !== undefined && deps.users.has(user)) return localUser(user, deps);
  return (user === undefined ? undefined : routeByNumber(user, deps)) ?? (local ? { kind: 'reply', rejection: { status: 404 } } : forward({ uri: text }));
}

/** Every registered contact of a local user (480 when none). */
function localUser(user: string, deps: RoutingDeps): RoutingDecision {
  const now = deps.now();
  const targets: Target[] = [];
  for (const d of deps.domains) {
    const aor = canonicalAor(`sip:${escapeUser(user)}@${d}`);
    if (aor === undefined) continue;
    for (const b of deps.location.lookup(aor, now)) targets.push({ uri: b.contact, dest: { transport: b.source.transport, address: b.source.address, port: b.source.port, connId: b.source.connId } });
  }
  return targets.length > 0 ? { kind: 'forward', targets, user } : { kind: 'reply', rejection: { status: 480 }, user };
}

function forward(t: Target): RoutingDecision {
  return { kind: 'forward', targets: [t] };
}

/** The dial plan: the longest prefix of the (unescaped) number picks the route. */
function routeByNumber(number: string, deps: RoutingDeps): RoutingDecision | undefined {
  const m = deps.routes.match(number);
  if (m === undefined) return undefined;
  // The number was matched unescaped; it goes back into a user part escaped (RFC 3261 19.1.2), or
  // a user like `sips%3Auser%40example.com` (RFC 4475 3.1.1.3) would come out as a broken URI.
  const user = escapeUser(m.number);
  const t = m.target;
  switch (t.kind) {
    case 'user':
      return localUser(t.user, deps);
    case 'line':
      return forward(lineTarget(deps.peers.lines.get(t.line)!, user));
    case 'trunks':
      return { kind: 'forward', targets: [], alternates: t.trunks.map((name) => trunkTarget(deps.peers.trunks.get(name)!, user)) };
    default: {
      const d = t.destination;
      const port = d.port === undefined ? '' : `:${d.port}`;
      return forward({ uri: `${d.scheme}:${user}@${d.host}${port}${formatParams(d.params)}` });
    }
  }
}

function dialogTarget(req: SipMessage, dialogs: DialogTable): Target | undefined {
  const from = tagOf(req.get('from'));
  const to = tagOf(req.get('to'));
  if (from === undefined || to === undefined) return undefined;
  const d = dialogs.find(req.callId, from, to);
  if (d === undefined) return undefined;
  const fromCaller = d.callerTag === from;
  const contact = fromCaller ? d.calleeContact : d.callerContact;
  if (contact === undefined) return undefined;
  return { uri: contact, dest: fromCaller ? d.calleeDest : d.callerDest };
}

const VERIFIED = 'verified';

/**
 * INVITEs from a caller claiming to be one of our users must prove it (407 challenge) when
 * INVITE auth is on; our credentials are then removed before forwarding (RFC 3261 22.3).
 * `relaying`: the request leaves our domains from an untrusted source, so any method with a From
 * in our domains is challenged, naming a user or not (unknown and wrong get the same answer).
 * Undefined: no claim to check (or INVITE auth is off).
 */
function authenticateCaller(req: SipMessage, source: SendTarget, deps: RoutingDeps, relaying: boolean): Rejection | typeof VERIFIED | undefined {
  const auth = deps.inviteAuth;
  if (auth === undefined || (!relaying && req.method !== 'INVITE')) return undefined;
  const from = parseUri(parseNameAddr(req.get('from')!).uri);
  if ((from.scheme !== 'sip' && from.scheme !== 'sips') || !deps.identity.isLocalDomain(from.host)) return undefined;
  const user = from.user === undefined ? undefined : unescapeUser(from.user);
  if (!relaying && (user === undefined || !deps.users.has(user))) return undefined;
  const result = auth.verify(req, true);
  if (!result.ok) {
    if (result.reason === 'failed') deps.onAuthFailure?.(source);
    return { status: 407, headers: auth.challengeHeaders(true, result.reason === 'stale', req.callId) };
  }
  if (result.username !== user) {
    deps.onAuthFailure?.(source);
    return { status: 403, reason: 'Credentials Do Not Match From' };
  }
  // only our own credentials: others may be meant for proxies further on
  req.headers = req.headers.filter((h) => h.name !== 'proxy-authorization' || realmOf(h.value) !== auth.realm);
  return VERIFIED;
}

function realmOf(credentials: string): string | undefined {
  try {
    return parseAuthValue(credentials).params.get('realm');
  } catch {
    return undefined;
  }
}

