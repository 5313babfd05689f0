// The stateful proxy core of one shard (RFC 3261 16 and 17, RFC 6026): it takes framed messages,
// runs transactions, routes requests to their targets and responses back upstream.
import { isSipProxyError } from '../errors.js';
import type { Dialog, DialogTable } from '../dialog/dialog-table.js';
import { detach } from '../sip/detach.js';
import { internTarget } from '../transport/intern-target.js';
import { serverKey, clientKey } from '../txn/keys.js';
import { InviteServerTxn } from '../txn/invite-server.js';
import { NonInviteServerTxn } from '../txn/non-invite-server.js';
import { CompletedTxnStore } from '../txn/completed-store.js';
import { InviteClientTxn } from '../txn/invite-client.js';
import { NonInviteClientTxn } from '../txn/non-invite-client.js';
import type { TxnContext } from '../txn/context.js';
import type { ClientTxnUser } from '../txn/client-user.js';
import type { SipMessage } from '../sip/message.js';
import { parseMessage } from '../sip/parser.js';
import { checkRequest, checkResponse, canAnswer } from '../sip/validate.js';
import { buildResponse } from '../sip/response.js';
import { formatVia, parseVia, setViaParam, viaBranch, viaParam, defaultPort, type Via } from '../sip/via.js';
import { parseNameAddr, fromTagOf, hasTag, tagOf } from '../sip/name-addr.js';
import { parseUri, type SipUri } from '../sip/uri.js';
import type { SendTarget } from '../transport/types.js';
import { BranchGenerator, loopHash, loopHashOfBranch, statelessBranch } from './branch-id.js';
import { checkMaxForwards, checkProxyRequire, checkScheme, type Rejection } from './request-checks.js';
import type { LocalIdentity } from './local-identity.js';
import { isForbiddenDestination, type NextHopResolver } from './next-hop.js';
import type { PeerLegs, PeerTarget } from '../peers/peer-legs.js';
import { isPrackRefusal, REL100_REJECTION, requires100rel, strip100rel } from '../policy/rel100.js';
import type { Originator } from './originated.js';
import { AcceptedInvite, type CallerSide, type CallerView } from './accepted-invite.js';
import { bestResponse, collectChallenges, ResponseContext, type Branch, type BranchPeer, type ClientOwner, type ClientTxn, type ServerTxn } from './response-context.js';
import { decideTargets, type RoutingDeps, type Target } from './routing.js';
import { CallForwarding, type ForwardingDeps } from './forwarding-hops.js';
import type { ShardStats } from './shard-stats.js';
import { isIP } from 'node:net';

export interface ProxyOptions {
  recordRoute: boolean;
  maxForwards: number;
  timerCMs: number;
}

export interface ProxyCoreDeps extends RoutingDeps {
  options: ProxyOptions;
  txn: TxnContext;
  resolver: NextHopResolver;
  dialogs: DialogTable;
  stats: ShardStats;
  shardId: number;
  identity: LocalIdentity;
  /** call forwarding (lib/policy/forwarding.ts); undefined turns it off */
  forwarding?: ForwardingDeps;
  peerLegs: PeerLegs;
  /** requests the shard sends itself (line REGISTERs, OPTIONS pings): their responses stop here */
  originator?: Originator;
  /** 100rel per peer (PeerRuntime): the mode INVITEs to it get, and PRACKs it refused */
  rel100?: { mode(peer: PeerTarget): 'passthrough' | 'disable'; prackRefused(peer: PeerTarget, status: number): void };
  toTag(): string;
  now(): number;
  /** told when a transaction of a Call-ID starts or ends while `active` (resharding pins, lib/shard/handover.ts) */
  txnWatch?: TxnWatch;
}

export interface TxnWatch {
  /** false when no Call-ID is pinned: the core then skips the calls (hot path) */
  active: boolean;
  started(callId: string): void;
  ended(callId: string): void;
}

const NO_RR_METHODS = new Set(['REGISTER', 'CANCEL', 'ACK', 'OPTIONS']);

/**
 * A branch's final response that stays after this batch (its context is still open: other branches
 * ring, forwarding goes on) gets bytes of its own (SipMessage.keepBytes); one whose context settled
 * with it goes with the batch, uncopied.
 */
function keepIfHeld(ctx: ResponseContext, branch: Branch, res: SipMessage): void {
  if (ctx.server.owner === ctx && branch.final === res) res.keepBytes();
}

export class ProxyCore {
  private readonly serverTxns = new Map<string, ServerTxn>();
  /** non-INVITE server transactions in Completed over UDP, off the heap until Timer J */
  private readonly completed: CompletedTxnStore;
  private readonly clientTxns = new Map<string, ClientTxn>();
  // A server transaction's response context and a client transaction's branch are each
  // transaction's `owner` field: no Map entry per transaction (hashed on every response).
  /** response contexts held (set as a server transaction's owner and not yet dropped) */
  private heldContexts = 0;
  private readonly branches: BranchGenerator;
  private readonly clientUser: ClientTxnUser<ClientTxn>;
  private readonly forwarding: CallForwarding | undefined;
  // one closure each for all transactions, not one per transaction
  private readonly serverDone = (t: ServerTxn, kept = false): void => {
    this.serverTxns.delete(t.key);
    this.dropContext(t);
    // one handed to the store is still live for resharding: the store tells when it expires
    if (!kept && this.deps.txnWatch?.active === true) this.deps.txnWatch.ended(t.callId);
  };
  /** Timer C (RFC 3261 16.6 step 11, 16.8): a provisional branch is CANCELed, a silent one fails with 408. */
  private readonly timerCFired = (branch: Branch): void => {
    if (branch.final !== undefined || branch.txn === undefined) return;
    if (branch.gotProvisional) { this.cancelBranch(branch.ctx, branch); return; }
    branch.txn.terminate();
    this.failBranch(branch.ctx, branch, 408);
  };
  private readonly clientDone = (t: ClientTxn): void => {
    this.clientTxns.delete(t.key);
    t.owner = undefined;
    if (this.deps.txnWatch?.active === true) this.deps.txnWatch.ended(t.callId);
  };

  constructor(private readonly deps: ProxyCoreDeps) {
    this.branches = new BranchGenerator(deps.shardId);
    this.completed = new CompletedTxnStore(deps.txn.timers, () => this.deps.txnWatch);
    this.clientUser = {
      onResponse: (txn, res) => this.onBranchResponse(txn, res),
      onTimeout: (txn) => this.onBranchTimeout(txn),
    };
    this.forwarding = deps.forwarding === undefined ? undefined : new CallForwarding(deps.forwarding, {
      addBranches: (ctx, targets, edit) => this.addBranches(ctx, targets, edit),
      addFinal: (ctx, r) => this.addFinal(ctx, r),
      cancelBranch: (ctx, b) => this.cancelBranch(ctx, b),
      provisional: (ctx, res) => this.relay(ctx, res),
      settle: (ctx) => this.maybeSendBest(ctx),
    }, { ...deps, timers: deps.txn.timers });
  }

  /** Response contexts still held (settled ones are released at once). */
  get contextCount(): number {
    return this.heldContexts;
  }

  get transactionCount(): number {
    return this.serverTxns.size + this.completed.size + this.clientTxns.size;
  }

  /** Completed non-INVITE server transactions kept in the off-heap store (part of transactionCount). */
  get completedStats(): { records: number; bytes: number } {
    return { records: this.completed.size, bytes: this.completed.bytes };
  }

  /** Server transactions still waiting for their final response (what a graceful stop waits for). */
  get pendingCount(): number {
    let n = 0;
    for (const st of this.serverTxns.values()) if (st.state === 'proceeding' || st.state === 'trying') n++;
    return n;
  }

  /** Live transactions per Call-ID (a resize keeps those Call-IDs on this shard until they end). */
  liveCallIds(): Map<string, number> {
    const out = new Map<string, number>();
    const add = (c: string): void => { out.set(c, (out.get(c) ?? 0) + 1); };
    for (const st of this.serverTxns.values()) add(st.callId);
    for (const c of this.completed.callIds()) add(c);
    for (const ct of this.clientTxns.values()) add(ct.callId);
    return out;
  }

  /** One framed message from the wire. Never throws: bad input is answered or dropped and counted. */
  receive(data: Buffer, source: SendTarget): void {
    const stats = this.deps.stats;
    stats.messagesIn++;
    let msg: SipMessage;
    let defect;
    try {
      ({ message: msg, defect } = parseMessage(data));
    } catch {
      stats.parseErrors++;
      stats.dropped++;
      return;
    }
    try {
      if (!msg.isRequest) {
        stats.responsesIn++;
        if (defect !== undefined || !checkResponse(msg)) { stats.dropped++; return; }
        this.onResponse(msg);
        return;
      }
      stats.requestsIn++;
      const problem = defect ?? checkRequest(msg);
      if (problem !== undefined) {
        stats.badRequests++;
        this.replyStateless(msg, source, problem.status, problem.reason);
        return;
      }
      this.onRequest(msg, source);
    } catch (err) {
      // A defect in a header value we only met while routing: answer if we can, never crash.
      stats.badRequests++;
      if (isSipProxyError(err) && msg.isRequest) this.replyStateless(msg, source, err.status ?? 400, 'Bad Request');
      else { stats.internalErrors++; this.deps.log.error({ err }, 'error while handling message'); }
    }
  }

  private replyStateless(req: SipMessage, source: SendTarget, status: number, reason?: string): void {
    if (!canAnswer(req)) { this.deps.stats.dropped++; return; }
    const res = buildResponse(req, status, { reason, toTag: this.deps.toTag() });
    this.send(source, res);
  }

  private send(target: SendTarget, msg: SipMessage): void {
    this.deps.txn.send(target, msg.toBuffer());
    this.deps.stats.messagesOut++;
  }

  // ---- requests ----------------------------------------------------------------------------

  private onRequest(req: SipMessage, source: SendTarget): void {
    const topVia = req.topVia()!; // checkRequest made sure there is one
    stampVia(req, topVia, source);
    const key = serverKey(req, topVia);
    const existing = this.serverTxns.get(key);
    if (req.method === 'ACK') {
      if (existing instanceof InviteServerTxn && (existing.state === 'completed' || existing.state === 'confirmed')) {
        existing.onAck(); // ACK for a non-2xx is hop by hop (RFC 3261 17.2.1)
        return;
      }
      this.forwardStateless(req, source, topVia); // ACK for a 2xx is end to end
      return;
    }
    if (existing !== undefined) {
      this.deps.stats.retransmissionsAbsorbed++;
      existing.onRetransmission();
      return;
    }
    // the store holds non-INVITE transactions only: a new INVITE's key is not hashed for nothing
    const kept = req.method === 'INVITE' ? undefined : this.completed.response(key);
    if (kept !== undefined) {
      this.deps.stats.retransmissionsAbsorbed++;
      this.deps.txn.send(source, kept);
      return;
    }
    if (req.method === 'CANCEL' && this.onCancel(req, source, topVia)) return;

    const st = this.createServerTxn(key, req, source);
    try {
      const reject = checkScheme(req) ?? checkMaxForwards(req) ?? this.checkLoop(req) ?? checkProxyRequire(req);
      if (reject !== undefined) { this.respond(st, req, reject); return; }
      if (st instanceof InviteServerTxn) this.respond(st, req, { status: 100 });

      const decision = decideTargets(req, source, this.deps);
      if (decision.kind === 'local') { this.respondLocal(st, decision.response.status, decision.response.toBuffer()); return; }
      // a new call to a local user: its forwarding rules (and 3xx recursion) may add hops
      if (decision.user !== undefined && this.forwarding !== undefined && st instanceof InviteServerTxn && !hasTag(req.get('to'))) {
        this.forwarding.begin(this.openContext(req, st), decision);
        return;
      }
      if (decision.kind === 'reply') { this.respond(st, req, decision.rejection); return; }
      this.forward(req, st, decision.targets, decision.alternates);
    } catch (err) {
      // A defect met while routing: answer through the transaction, or it would wait forever with
      // no timer to end it (found by the fuzzer: a leak of one transaction per such request).
      this.failServerTxn(st, req, err);
    }
  }

  private failServerTxn(st: ServerTxn, req: SipMessage, err: unknown): void {
    const stats = this.deps.stats;
    if (isSipProxyError(err)) stats.badRequests++;
    else { stats.internalErrors++; this.deps.log.error({ err }, 'error while handling request'); }
    if (st.state !== 'proceeding' && st.state !== 'trying') return;
    const status = isSipProxyError(err) ? err.status ?? 400 : 500;
    try {
      this.respond(st, req, { status: status >= 400 && status < 700 ? status : 400 });
    } catch {
      st.respond(500, buildResponse(req, 500, { toTag: this.deps.toTag() }).toBuffer());
    }
  }

  private createServerTxn(key: string, req: SipMessage, channelSource: SendTarget): ServerTxn {
    const source = internTarget(channelSource); // held for Timer L/J: one object per address
    const st = req.method === 'INVITE'
      ? new InviteServerTxn<ResponseContext>(this.deps.txn, key, source, this.serverDone)
      : new NonInviteServerTxn<ResponseContext>(this.deps.txn, key, source, this.serverDone, this.completed);
    st.callId = detach(req.callId); // held for the transaction's life: a flat copy, not a slice of the message
    this.serverTxns.set(key, st);
    if (this.deps.txnWatch?.active === true) this.deps.txnWatch.started(st.callId);
    return st;
  }

  private respond(st: ServerTxn, req: SipMessage, r: Rejection): void {
    const res = buildResponse(req, r.status, { reason: r.reason, toTag: this.deps.toTag(), headers: r.headers });
    this.respondLocal(st, r.status, res.toBuffer());
    this.deps.stats.countResponse(r.status);
  }

  /**
   * A response of our own. A challenge to a non-INVITE (the REGISTER's 401, a 407) ends its
   * transaction at once (RFC 3261 8.2.7): a retransmitted request is challenged afresh, and a
   * registration load does not hold one transaction per challenge for 32 s. An INVITE's stays:
   * the ACK for its 407 is hop by hop and must find it.
   */
  private respondLocal(st: ServerTxn, status: number, data: Buffer): void {
    if ((status === 401 || status === 407) && st instanceof NonInviteServerTxn) st.respondAndEnd(data);
    else st.respond(status, data);
  }

  /** RFC 3261 16.3 step 4: our own Via with the same loop hash means the request came back unchanged. */
  private checkLoop(req: SipMessage): Rejection | undefined {
    if (req.valueCount('via') < 2) return undefined; // no Via of ours below the sender's
    const vias = req.getAll('via');
    const mine = loopHash(req);
    for (let i = 1; i < vias.length; i++) {
      const v = parseVia(vias[i]!);
      if (!this.deps.identity.isSelfSentBy(v.host, v.port, v.transport)) continue;
      const b = viaBranch(v);
      if (b !== undefined && loopHashOfBranch(b) === mine) return { status: 482 };
    }
    return undefined;
  }

  /** CANCEL matching a pending INVITE: 200 here, CANCEL every branch (RFC 3261 16.10). */
  private onCancel(req: SipMessage, source: SendTarget, topVia: Via): boolean {
    const ist = this.serverTxns.get(serverKey(req, topVia, 'INVITE'));
    if (!(ist instanceof InviteServerTxn)) return false;
    const st = this.createServerTxn(serverKey(req, topVia), req, source);
    this.respond(st, req, { status: 200 });
    const ctx = ist.owner;
    if (ctx !== undefined) this.cancelContext(ctx);
    return true;
  }

  private cancelContext(ctx: ResponseContext): void {
    ctx.cancelled = true;
    for (const b of ctx.branches) this.cancelBranch(ctx, b);
    this.maybeSendBest(ctx);
  }

  private openContext(req: SipMessage, st: ServerTxn): ResponseContext {
    req.keepBytes(); // held until the context settles; its branches' copies share the bytes
    const ctx = new ResponseContext(req, st);
    st.owner = ctx;
    this.heldContexts++;
    if (ctx.isInvite && tagOf(req.get('to')) === undefined) {
      ctx.callStartedAt = this.deps.now();
      this.deps.stats.callsAttempted++;
    }
    return ctx;
  }

  private addBranches(ctx: ResponseContext, targets: readonly Target[], edit?: (copy: SipMessage, target: Target) => void): void {
    const hash = loopHash(ctx.request);
    for (const target of targets) {
      if (this.rel100Refuses(ctx, target)) this.addFinal(ctx, REL100_REJECTION);
      else this.startTarget(ctx, target, hash, edit);
    }
  }

  /** A caller's Require: 100rel cannot go to a peer in 100rel `disable` mode (RFC 3261 8.2.2.3: 420). */
  private rel100Refuses(ctx: ResponseContext, target: Target): boolean {
    if (target.peer === undefined || !ctx.isInvite || this.deps.rel100?.mode(target.peer) !== 'disable' || !requires100rel(ctx.request)) return false;
    ctx.rel100Refused = true;
    return true;
  }

  private forward(req: SipMessage, st: ServerTxn, targets: Target[], alternates: Target[] = []): void {
    const ctx = this.openContext(req, st);
    ctx.alternates = alternates;
    this.addBranches(ctx, targets);
    // every trunk of the route is down or at its call limit: nothing can take the call
    if (targets.length === 0 && !this.nextAlternate(ctx)) this.respond(st, req, ctx.rel100Refused ? REL100_REJECTION : { status: 503 });
    else this.maybeSendBest(ctx); // a target refused at once (100rel) is final already
  }

  /** A branch towards one target; false when the target's peer cannot take it (down, full). */
  private startTarget(ctx: ResponseContext, target: Target, hash: string, edit?: (copy: SipMessage, target: Target) => void): boolean {
    const copy = ctx.request.clone();
    copy.uri = target.uri;
    edit?.(copy, target);
    if (target.peer !== undefined && copy.method === 'INVITE' && this.deps.rel100?.mode(target.peer) === 'disable') strip100rel(copy);
    let peer: BranchPeer | undefined;
    const legs = this.deps.peerLegs;
    if (target.peer !== undefined) {
      const leg = legs.begin(copy, target.peer);
      if (leg === undefined) return false;
      peer = { leg, initial: true, base: copy, authRetried: false };
    } else {
      const leg = legs.translate(copy);
      if (leg !== undefined) peer = { leg, initial: false, base: copy, authRetried: false };
    }
    const branch: Branch = { ctx, txn: undefined, request: copy, gotProvisional: false, final: undefined, cancelPending: false, cancelled: false, timerC: undefined, dialog: undefined, peer };
    ctx.branches.push(branch);
    const hop = this.prepareForward(copy, target);
    if (peer !== undefined) { peer.base = copy.clone(); ctx.restoreUpstream = true; }
    if (hop instanceof Promise) {
      hop.then((dest) => this.startBranch(ctx, branch, dest, hash), () => this.failBranch(ctx, branch, 503))
        // a throw here would be an unhandled rejection, which ends the worker thread
        .catch((err: unknown) => { this.deps.stats.internalErrors++; this.deps.log.error({ err }, 'error starting a branch'); this.failBranch(ctx, branch, 500); });
    } else if (hop === undefined) {
      this.failBranch(ctx, branch, 503);
    } else {
      this.startBranch(ctx, branch, hop, hash);
    }
    return true;
  }

  /** Start the next alternate target that can take the request; false when none is left. */
  private nextAlternate(ctx: ResponseContext): boolean {
    const hash = loopHash(ctx.request);
    for (let t = ctx.alternates.shift(); t !== undefined; t = ctx.alternates.shift()) {
      // a trunk in 100rel disable mode is skipped for a Require: 100rel call, like a full one
      if (!this.rel100Refuses(ctx, t) && this.startTarget(ctx, t, hash)) return true;
    }
    return false;
  }

  /** A branch failed: its peer leg ends, and on 408/503 (or a timeout) the next trunk gets the call. */
  private branchFailed(ctx: ResponseContext, branch: Branch, status: number): void {
    if (branch.peer?.initial === true) this.deps.peerLegs.end(branch.peer.leg);
    if ((status === 408 || status === 503) && ctx.alternates.length > 0 && !ctx.cancelled && !ctx.answered) this.nextAlternate(ctx);
  }

  /**
   * The provider challenged a request on a line: re-send it once with the line's credentials and
   * CSeq + 1 on the same branch (the caller sees one call); a second challenge fails it with 403.
   */
  private answerPeerChallenge(ctx: ResponseContext, branch: Branch, txn: ClientTxn, res: SipMessage): boolean {
    const p = branch.peer;
    if (p === undefined || p.leg.peer.kind !== 'line' || (res.status !== 401 && res.status !== 407) || ctx.cancelled) return false;
    const retry = p.authRetried ? undefined : this.deps.peerLegs.answerChallenge(p.leg, p.base, res);
    if (retry === undefined) { this.failBranch(ctx, branch, 403); return true; }
    p.authRetried = true;
    p.base = retry;
    txn.owner = undefined;
    branch.request = retry.clone();
    branch.caller = undefined;
    branch.txn = undefined;
    branch.gotProvisional = false;
    this.startBranch(ctx, branch, txn.target, loopHash(ctx.request));
    return true;
  }

  /**
   * RFC 3261 16.6 steps 3-7 on a copy: Max-Forwards, Record-Route, strict-route fix-up and the next
   * hop. The Via is added once the transport of the next hop is known.
   */
  private prepareForward(copy: SipMessage, target: Target): SendTarget | Promise<SendTarget> | undefined {
    const mf = copy.get('max-forwards');
    copy.set('Max-Forwards', mf === undefined ? String(this.deps.options.maxForwards) : String(Math.min(Number(mf), 255) - 1));
    let hopUri: SipUri;
    const route = copy.firstValue('route');
    if (route !== undefined) {
      const routeUri = parseUri(parseNameAddr(route).uri);
      if (routeUri.params.some(([k]) => k === 'lr')) {
        hopUri = routeUri;
      } else {
        // next hop is a strict router: it gets the Request-URI slot (RFC 3261 16.6 step 6)
        copy.shift('route');
        copy.append('Route', `<${copy.uri}>`);
        copy.uri = parseNameAddr(route).uri;
        hopUri = routeUri;
      }
      return this.deps.resolver.resolve(hopUri);
    }
    if (target.dest !== undefined) return target.dest;
    if (target.hop !== undefined) return this.deps.resolver.resolve(target.hop);
    hopUri = copy.requestUri();
    if (hopUri.scheme !== 'sip' && hopUri.scheme !== 'sips') return undefined;
    return this.deps.resolver.resolve(hopUri);
  }

  private startBranch(ctx: ResponseContext, branch: Branch, dest: SendTarget, hash: string): void {
    if (isForbiddenDestination(dest.address)) { this.failBranch(ctx, branch, 503); return; }
    if (ctx.cancelled || ctx.answered && !ctx.isInvite) { this.failBranch(ctx, branch, 487); return; }
    const req = branch.request;
    const family = isIP(dest.address) === 6 ? 6 : 4;
    const toTag = hasTag(req.get('to'));
    if (this.deps.options.recordRoute && !toTag && !NO_RR_METHODS.has(req.method)) {
      const inbound = ctx.server.source;
      if (inbound.transport !== dest.transport) req.prepend('Record-Route', this.deps.identity.recordRoute(inbound.transport, isIP(inbound.address) === 6 ? 6 : 4));
      req.prepend('Record-Route', this.deps.identity.recordRoute(dest.transport, family));
    }
    const id = this.branches.next(hash);
    req.prepend('Via', this.deps.identity.viaPrefix(dest.transport, family) + id);
    const key = clientKey(id, req.method);
    const data = req.toBuffer();
    dest = internTarget(dest); // held for Timer M/K
    const txn = req.method === 'INVITE'
      ? new InviteClientTxn<ClientOwner>(this.deps.txn, key, req, data, dest, this.clientUser as ClientTxnUser<InviteClientTxn<ClientOwner>>, this.clientDone)
      : new NonInviteClientTxn<ClientOwner>(this.deps.txn, key, data, dest, this.clientUser as ClientTxnUser<NonInviteClientTxn<ClientOwner>>, this.clientDone);
    txn.owner = branch;
    branch.txn = txn;
    this.clientTxnStarted(key, txn, req.callId);
    this.deps.stats.requestsForwarded++;
    txn.start();
    if (txn instanceof InviteClientTxn) this.armTimerC(branch);
  }

  private clientTxnStarted(key: string, txn: ClientTxn, callId: string): void {
    txn.callId = detach(callId);
    this.clientTxns.set(key, txn);
    if (this.deps.txnWatch?.active === true) this.deps.txnWatch.started(txn.callId);
  }

  private armTimerC(branch: Branch): void {
    this.deps.txn.timers.cancel(branch.timerC);
    branch.timerC = this.deps.txn.timers.schedule(this.deps.options.timerCMs, this.timerCFired, branch);
  }

  /** A branch that is final from the start: a forwarding target we cannot reach, or the end of forwarding. */
  private addFinal(ctx: ResponseContext, r: Rejection): void {
    const final = buildResponse(ctx.request, r.status, { reason: r.reason, toTag: this.deps.toTag(), headers: r.headers });
    ctx.branches.push({ ctx, txn: undefined, request: ctx.request, gotProvisional: false, final, cancelPending: false, cancelled: false, timerC: undefined, dialog: undefined });
  }

  /** A branch that ends without a response of its own (timeout, no route, cancelled early). */
  private failBranch(ctx: ResponseContext, branch: Branch, status: number): void {
    if (branch.final !== undefined) return;
    const res = buildResponse(branch.request, status, { toTag: this.deps.toTag() });
    res.shift('via');
    if (branch.request.valueCount('via') > ctx.request.valueCount('via')) res.shift('via');
    branch.final = res;
    this.deps.txn.timers.cancel(branch.timerC);
    this.branchFailed(ctx, branch, status);
    this.maybeSendBest(ctx);
  }

  private cancelBranch(ctx: ResponseContext, branch: Branch): void {
    if (branch.cancelled || branch.final !== undefined) return;
    const txn = branch.txn;
    if (!(txn instanceof InviteClientTxn)) return;
    if (txn.state === 'proceeding') {
      branch.cancelled = true;
      this.sendCancel(branch.request, txn);
    } else if (txn.state === 'calling') {
      // RFC 3261 9.1: no CANCEL before a provisional; answer upstream now, CANCEL when one comes
      branch.cancelPending = true;
      this.failBranch(ctx, branch, 487);
    }
  }

  /** CANCEL for a branch's INVITE (`inv`: the copy its transaction sent). */
  private sendCancel(inv: SipMessage, txn: InviteClientTxn<ClientOwner>): void {
    const cancel = inv.clone();
    cancel.method = 'CANCEL';
    cancel.headers = [];
    cancel.body = Buffer.alloc(0);
    cancel.append('Via', inv.firstValue('via')!);
    for (const r of inv.getAll('route')) cancel.append('Route', r);
    cancel.append('Max-Forwards', String(this.deps.options.maxForwards));
    cancel.append('From', inv.get('from')!);
    cancel.append('To', inv.get('to')!);
    cancel.append('Call-ID', inv.callId);
    cancel.append('CSeq', `${inv.cseq().seq} CANCEL`);
    const id = viaBranch(parseVia(inv.firstValue('via')!))!;
    const key = clientKey(id, 'CANCEL');
    const ct = new NonInviteClientTxn<ClientOwner>(this.deps.txn, key, cancel.toBuffer(), txn.target,
      { onResponse: () => undefined, onTimeout: () => undefined }, this.clientDone);
    this.clientTxnStarted(key, ct, inv.callId);
    ct.start();
  }

  // ---- responses ---------------------------------------------------------------------------

  private onResponse(res: SipMessage): void {
    const via = res.topVia()!; // checkResponse made sure there is one
    const branch = viaBranch(via);
    const txn = branch === undefined ? undefined : this.clientTxns.get(clientKey(branch, res.method));
    if (txn === undefined) {
      if (branch !== undefined && this.deps.originator?.receive(res, branch) === true) return;
      this.forwardResponseStateless(res, via);
      return;
    }
    // A response for one of our branches carries our Via above the caller's: with only ours there
    // is no one to relay it to (RFC 3261 16.7 step 3), and going by the transaction's source would
    // send upstream a response with no Via. The peer did not copy the request's Vias: dropped, as
    // if never received (the branch's timers go on). A CANCEL's 200 has no owner: hop by hop.
    if (txn.owner !== undefined && res.valueCount('via') < 2) {
      this.deps.stats.dropped++;
      this.deps.stats.responsesWithoutUpstreamVia++;
      return;
    }
    txn.receive(res);
  }

  private onBranchResponse(txn: ClientTxn, res: SipMessage): void {
    const branch = txn.owner;
    if (branch === undefined) return;
    if (branch instanceof AcceptedInvite) { res.shift('via'); this.relayAccepted(branch, txn.target, res); return; }
    // once the server transaction has ended, only stateless relaying of 2xx is left
    const ctx = branch.ctx.server.state === 'terminated' ? undefined : branch.ctx;
    const status = res.status;
    if (txn instanceof InviteClientTxn && status > 100 && status < 300) {
      const d = this.trackDialog(branch.caller ??= callerSideOf(branch.request), branch.ctx.server.source, res, txn.target, branch.dialog);
      if (d !== undefined) branch.dialog = d;
    }
    // relayed as passthrough would; only later calls to an `auto` peer change (lib/policy/rel100.ts)
    if (branch.peer !== undefined && isPrackRefusal(res.method, status)) this.deps.rel100?.prackRefused(branch.peer.leg.peer, status);
    if (status === 100) return; // hop by hop: absorbed here, so its Via is left as it came
    res.shift('via'); // ours: what goes upstream starts at the caller's Via
    if (status < 200) {
      branch.gotProvisional = true;
      if (branch.cancelPending && txn instanceof InviteClientTxn) { branch.cancelPending = false; branch.cancelled = true; this.sendCancel(branch.request, txn); }
      if (txn instanceof InviteClientTxn) this.armTimerC(branch);
      if (ctx !== undefined && !ctx.finalSent && !branch.cancelPending && !branch.cancelled) {
        this.relay(ctx, res);
        this.forwarding?.onProvisional(ctx, branch);
      }
      return;
    }
    this.deps.txn.timers.cancel(branch.timerC);
    if (ctx !== undefined && status >= 300 && branch.peer !== undefined && this.answerPeerChallenge(ctx, branch, txn, res)) return;
    if (res.method === 'BYE' && (status < 300 || status === 481)) this.endDialogOf(branch.request, res);
    // a branch that rang and then failed (a CANCELed fork, a forwarded hop) leaves no early dialog
    if (res.method === 'INVITE' && status >= 300) this.endDialogOf(branch.request, res, 'early');
    if (ctx === undefined) {
      // the server side is gone (2xx retransmission late): pass 2xx upstream by Via
      if (branch.ctx.restoreUpstream) restoreCallerView(callerViewOf(branch.ctx.request), res);
      if (status < 300) this.forwardResponseStateless(res, undefined);
      return;
    }
    if (status < 300) {
      if (branch.final === undefined) branch.final = res;
      if (!ctx.answered && ctx.callStartedAt !== undefined) this.deps.stats.callAnswered(this.deps.now() - ctx.callStartedAt);
      ctx.answered = true;
      if (!ctx.isInvite) ctx.finalSent = true;
      this.relay(ctx, res);
      this.forwarding?.onAnswered(ctx);
      if (ctx.isInvite) for (const b of ctx.branches) if (b !== branch) this.cancelBranch(ctx, b); // 16.7 step 10
      this.releaseIfSettled(ctx);
      keepIfHeld(ctx, branch, res);
      return;
    }
    if (branch.final === undefined || branch.final.status === 487 && branch.cancelPending) branch.final = res;
    this.branchFailed(ctx, branch, status);
    if (status >= 600 && ctx.isInvite) for (const b of ctx.branches) if (b !== branch) this.cancelBranch(ctx, b);
    this.maybeSendBest(ctx);
    keepIfHeld(ctx, branch, res);
  }

  private onBranchTimeout(txn: ClientTxn): void {
    const branch = txn.owner;
    if (branch === undefined || branch instanceof AcceptedInvite) return;
    this.failBranch(branch.ctx, branch, 408);
  }

  private relay(ctx: ResponseContext, res: SipMessage): void {
    if (ctx.restoreUpstream) restoreCallerView(callerViewOf(ctx.request), res);
    ctx.server.respond(res.status, res.toBuffer());
    this.deps.stats.countResponse(res.status);
  }

  /** When every branch has a final answer and no 2xx went up, send the best one (16.7 step 6). */
  private maybeSendBest(ctx: ResponseContext): void {
    if (ctx.finalSent || ctx.answered) { this.releaseIfSettled(ctx); return; }
    if (this.forwarding?.holdsFinal(ctx) === true || !ctx.allFinal()) return;
    // a forwarded call answers with what its last hop got, not what the first target said
    const branches = this.forwarding?.hopBranches(ctx) ?? ctx.branches;
    const best = bestResponse(branches);
    if (best === undefined) return;
    ctx.finalSent = true;
    let out = best;
    if (best.status === 503) {
      // RFC 3261 16.7 step 6: 503 upstream becomes 500 (it is about us, not the callee)
      out = buildResponse(ctx.request, 500, { toTag: this.deps.toTag() });
    } else if (best.status === 401 || best.status === 407) {
      out = best.clone();
      out.remove('www-authenticate');
      out.remove('proxy-authenticate');
      for (const [n, v] of collectChallenges(branches)) out.append(n, v);
    } else if (best.valueCount('via') !== ctx.request.valueCount('via')) {
      out = buildResponse(ctx.request, best.status, { reason: best.reason, toTag: this.deps.toTag() });
    }
    if (ctx.isInvite) this.deps.dialogs.terminateEarly(ctx.request.callId, fromTagOf(ctx.request));
    this.relay(ctx, out);
    this.releaseIfSettled(ctx);
  }

  /**
   * A context whose final answer went upstream and whose branches all have theirs holds nothing a
   * later message needs: the server transaction absorbs retransmitted requests on its own, a client
   * transaction in Completed absorbs responses on its own, and one in Accepted keeps only an
   * AcceptedInvite to relay further 2xx. Released at once, instead of holding the request, each
   * branch's copy and the final responses until Timer L/J ends the server transaction (32 s).
   * A branch whose final is ours while its transaction still runs (CANCEL pending until a
   * provisional, RFC 3261 9.1) stays whole.
   */
  private releaseIfSettled(ctx: ResponseContext): void {
    if (!(ctx.finalSent || ctx.answered) || ctx.server.owner !== ctx || !ctx.allFinal()) return;
    this.dropContext(ctx.server);
    const restore = ctx.restoreUpstream ? detachView(callerViewOf(ctx.request)) : undefined;
    for (const b of ctx.branches) {
      const txn = b.txn;
      if (txn === undefined || txn.owner !== b) continue;
      if (txn.state === 'accepted') {
        txn.owner = new AcceptedInvite(ctx.server as InviteServerTxn<ResponseContext>, b.dialog ?? detachCaller(callerSideOf(b.request)), restore);
      } else if (txn.state === 'completed' || txn.state === 'terminated') {
        txn.owner = undefined;
      }
    }
    if (ctx.server instanceof NonInviteServerTxn) ctx.server.handOff();
  }

  /** The server transaction lets go of its context (settled, or the transaction ended). */
  private dropContext(st: ServerTxn): void {
    if (st.owner === undefined) return;
    st.owner = undefined;
    this.heldContexts--;
  }

  /** A further 2xx on a settled INVITE (a retransmission, or another fork downstream): RFC 6026 7.2. */
  private relayAccepted(a: AcceptedInvite, calleeDest: SendTarget, res: SipMessage): void {
    this.trackDialog(a.caller, a.server.source, res, calleeDest);
    if (a.restore !== undefined) restoreCallerView(a.restore, res);
    if (a.server.state === 'terminated') { this.forwardResponseStateless(res, undefined); return; }
    a.server.respond(res.status, res.toBuffer());
    this.deps.stats.countResponse(res.status);
  }

  // ---- dialogs -----------------------------------------------------------------------------

  private trackDialog(caller: CallerSide, callerDest: SendTarget, res: SipMessage, calleeDest: SendTarget, known?: Dialog): Dialog | undefined {
    if (res.status <= 100 || res.status >= 300) return undefined;
    const toTag = tagOf(res.get('to'));
    if (toTag === undefined) return undefined;
    const contact = res.firstValue('contact');
    return this.deps.dialogs.upsert({
      callId: caller.callId,
      callerTag: caller.callerTag,
      calleeTag: toTag,
      callerContact: caller.callerContact,
      callerDest,
      calleeContact: contact === undefined ? undefined : parseNameAddr(contact).uri,
      calleeDest,
      createdAt: this.deps.now(),
    }, res.status >= 200, this.deps.now(), known);
  }

  private endDialogOf(req: SipMessage, res: SipMessage, only?: 'early'): void {
    const a = fromTagOf(req);
    const b = tagOf(res.get('to'));
    if (b === undefined) return;
    this.deps.peerLegs.endDialog(req.callId, a, b);
    this.deps.dialogs.terminateBetween(req.callId, a, b, only);
  }

  // ---- stateless paths ---------------------------------------------------------------------

  /** 2xx ACKs (and anything else we relay without a transaction, RFC 3261 16.11). */
  private forwardStateless(req: SipMessage, source: SendTarget, topVia: Via): void {
    if (checkMaxForwards(req) !== undefined) { this.deps.stats.dropped++; return; }
    const decision = decideTargets(req, source, this.deps);
    if (decision.kind !== 'forward' || decision.targets.length === 0) { this.deps.stats.dropped++; return; }
    const target = decision.targets[0]!;
    const copy = req.clone();
    copy.uri = target.uri;
    this.deps.peerLegs.translate(copy); // the 2xx ACK of a line call whose INVITE was re-sent: CSeq + n
    const hop = this.prepareForward(copy, target);
    const go = (dest: SendTarget): void => {
      if (isForbiddenDestination(dest.address)) { this.deps.stats.dropped++; return; }
      const family = isIP(dest.address) === 6 ? 6 : 4;
      const incoming = viaBranch(topVia);
      copy.prepend('Via', this.deps.identity.viaPrefix(dest.transport, family) + statelessBranch(incoming, req));
      this.send(dest, copy);
      this.deps.stats.requestsForwarded++;
    };
    if (hop instanceof Promise) {
      copy.keepBytes(); // it waits for a name lookup, past this batch
      hop.then(go, () => { this.deps.stats.dropped++; }).catch((err: unknown) => { this.deps.stats.internalErrors++; this.deps.log.error({ err }, 'error forwarding statelessly'); });
    } else if (hop === undefined) this.deps.stats.dropped++;
    else go(hop);
  }

  /** A response with no transaction: if the top Via is ours, pass it to the next Via (RFC 3261 16.7, 18.2.2). */
  private forwardResponseStateless(res: SipMessage, topVia: Via | undefined): void {
    if (topVia !== undefined) {
      if (!this.deps.identity.isSelfSentBy(topVia.host, topVia.port, topVia.transport)) { this.deps.stats.dropped++; return; }
      res.shift('via');
    }
    const next = res.firstValue('via');
    if (next === undefined) { this.deps.stats.dropped++; return; }
    const via = parseVia(next);
    const received = viaParam(via, 'received');
    const rport = viaParam(via, 'rport');
    const address = typeof received === 'string' ? received : via.host.replace(/^\[|\]$/g, '');
    const port = typeof rport === 'string' && rport !== '' ? Number(rport) : via.port ?? defaultPort(via.transport);
    if (isForbiddenDestination(address) || isIP(address) === 0) { this.deps.stats.dropped++; return; }
    const transport = via.transport === 'TCP' ? 'tcp' : via.transport === 'TLS' ? 'tls' : 'udp';
    this.send({ transport, address, port }, res);
    this.deps.stats.responsesForwardedStateless++;
  }
}

/** RFC 3261 18.2.1 and RFC 3581: record where the request really came from in its top Via. */
export function stampVia(req: SipMessage, via: Via, source: SendTarget): void {
  const hostBare = via.host.replace(/^\[|\]$/g, '');
  let changed = false;
  if (hostBare !== source.address) { setViaParam(via, 'received', source.address); changed = true; }
  if (viaParam(via, 'rport') === null) { setViaParam(via, 'rport', String(source.port)); changed = true; }
  if (changed) req.replaceFirstValue('via', formatVia(via));
}

/** The caller's side of the dialogs a branch's responses create. */
function callerSideOf(req: SipMessage): CallerSide {
  const contact = req.firstValue('contact');
  return { callId: req.callId, callerTag: fromTagOf(req), callerContact: contact === undefined ? undefined : parseNameAddr(contact).uri };
}

/** Flat copies: slices of a message's header text would keep the whole message alive. */
function detachCaller(c: CallerSide): CallerSide {
  return { callId: detach(c.callId), callerTag: detach(c.callerTag), callerContact: detach(c.callerContact) };
}

function callerViewOf(req: SipMessage): CallerView {
  return { cseq: req.get('cseq'), from: req.get('from') };
}

function detachView(v: CallerView): CallerView {
  return { cseq: detach(v.cseq), from: detach(v.from) };
}

/** Responses from a peer leg go upstream with the caller's own CSeq and From (PeerLegs). */
function restoreCallerView(caller: CallerView, res: SipMessage): void {
  const { cseq, from } = caller;
  if (cseq !== undefined && res.get('cseq') !== cseq) res.set('CSeq', cseq);
  if (from !== undefined && res.get('from') !== from) res.set('From', from);
}

