// The hops of a forwarded call inside one server transaction (RFC 3261 16.7 step 5 lets a proxy
// add targets to a response context; we do it per hop). A call to a local user opens a hop; when
// the hop ends without a 2xx (busy, unavailable, a 3xx) or rings too long, the forwarding policy
// names the next target: the caller gets a 181 with the Call-Info notice, the new INVITE carries
// Diversion (and History-Info), and the new target is routed like a dialled one. The core owns
// all I/O and calls in at: a call opens (begin), a branch rings (onProvisional), a final is due
// (holdsFinal / hopBranches), a 2xx went up (onAnswered).
import {
  causeOf, causeText, diversionValue, diversionsSoFar, forwardOnFinal, hopLimitRejection, labelOf, loopRejection,
  redirectTargets, targetUri, visitKey, type ForwardingOptions, type ForwardStep,
} from '../policy/forwarding.js';
import type { ForwardingTable, UserForwarding } from '../policy/forwarding-table.js';
import { HistoryInfo } from '../policy/history-info.js';
import { formatForwardingCallInfo } from '../sip/call-info.js';
import type { SipMessage } from '../sip/message.js';
import { buildResponse } from '../sip/response.js';
import { escapeUser, parseUri } from '../sip/uri.js';
import type { Timer, TimerWheel } from '../txn/timers.js';
import type { Rejection } from './request-checks.js';
import { bestResponse, type Branch, type ResponseContext } from './response-context.js';
import { targetsOf, type RoutingDecision, type RoutingDeps, type Target } from './routing.js';
import type { ShardStats } from './shard-stats.js';

export interface ForwardingDeps {
  options: ForwardingOptions;
  table: ForwardingTable;
}

/** What the core does for us. */
export interface HopPort {
  /** start branches to `targets`; `edit` finishes each copy once its Request-URI is set */
  addBranches(ctx: ResponseContext, targets: readonly Target[], edit: (copy: SipMessage, target: Target) => void): void;
  /** a branch that is final from the start (target unreachable, forwarding stopped) */
  addFinal(ctx: ResponseContext, rejection: Rejection): void;
  cancelBranch(ctx: ResponseContext, branch: Branch): void;
  provisional(ctx: ResponseContext, res: SipMessage): void;
  /** send the best final if everything is final */
  settle(ctx: ResponseContext): void;
}

interface Hop {
  /** first branch of this hop in ctx.branches */
  from: number;
  /** the local user this hop calls, if any */
  user: string | undefined;
  uri: string;
  rules: Readonly<UserForwarding> | undefined;
  /** forwarding was decided for this hop (or it is a dead end): decide once */
  decided: boolean;
  noAnswer: Timer | undefined;
  hiIndex: string;
  hiGroup: number;
}

interface CallState {
  hop: Hop;
  hops: number;
  visited: Set<string>;
  path: string[];
  /** our Diversion values, oldest first */
  diversions: string[];
  history: HistoryInfo | undefined;
  /** Contacts of a 3xx not tried yet, q-ordered, and the hop that redirected */
  alternatives: string[];
  redirector: Hop | undefined;
  /** To-tag of our 181s: one per call */
  tag: string;
  /** inside a step of ours: a final must wait until the next hop is set up */
  busy: boolean;
  groups: number;
}

type Deps = RoutingDeps & { timers: TimerWheel; stats: ShardStats };

export class CallForwarding {
  private readonly calls = new WeakMap<ResponseContext, CallState>();

  constructor(private readonly fwd: ForwardingDeps, private readonly port: HopPort, private readonly deps: Deps) {}

  /** A new INVITE to a local user (`decision.user` is set): it becomes the first hop. */
  begin(ctx: ResponseContext, decision: RoutingDecision & { kind: 'forward' | 'reply' }): void {
    const req = ctx.request;
    const st: CallState = {
      hop: undefined as unknown as Hop,
      hops: diversionsSoFar(req.getAll('diversion')),
      visited: new Set([visitKey(req.requestUri(), decision.user)]),
      path: [decision.user ?? labelOf(req.uri)],
      diversions: [],
      history: this.fwd.options.historyInfo ? new HistoryInfo(req.getAll('history-info'), req.uri) : undefined,
      alternatives: [],
      redirector: undefined,
      tag: this.deps.toTag(),
      busy: true,
      groups: 0,
    };
    this.calls.set(ctx, st);
    this.enter(ctx, st, decision, req.uri, st.history?.root ?? '1');
    st.busy = false;
    this.port.settle(ctx);
  }

  /** The final must wait: a hop runs, or forwarding just started one. */
  holdsFinal(ctx: ResponseContext): boolean {
    const st = this.calls.get(ctx);
    if (st === undefined) return false;
    if (st.busy) return true;
    if (ctx.cancelled) return false;
    st.busy = true;
    try {
      for (;;) {
        const hop = st.hop;
        for (let i = hop.from; i < ctx.branches.length; i++) if (ctx.branches[i]!.final === undefined) return true;
        if (hop.decided) return false;
        hop.decided = true;
        const best = bestResponse(ctx.branches.slice(hop.from));
        const next = best === undefined ? undefined : this.nextStep(st, hop, best);
        if (next === undefined) return false;
        this.divert(ctx, st, next.from, next.step, best!.status);
      }
    } finally {
      st.busy = false;
    }
  }

  /** The branches the final response is chosen from: the last hop's. */
  hopBranches(ctx: ResponseContext): Branch[] | undefined {
    const st = this.calls.get(ctx);
    return st === undefined ? undefined : ctx.branches.slice(st.hop.from);
  }

  /** A branch sent a provisional (not 100): the no-answer clock of its hop starts at the first. */
  onProvisional(ctx: ResponseContext, branch: Branch): void {
    const st = this.calls.get(ctx);
    if (st === undefined) return;
    const hop = st.hop;
    const rule = hop.rules?.noAnswer;
    if (rule === undefined || hop.decided || hop.noAnswer !== undefined || ctx.branches.indexOf(branch) < hop.from) return;
    hop.noAnswer = this.deps.timers.schedule(rule.seconds * 1000, () => {
      if (st.hop !== hop || hop.decided || ctx.finalSent || ctx.answered || ctx.cancelled) return;
      hop.decided = true;
      st.busy = true;
      // the ringing phones are CANCELed (RFC 3261 16.10); their 487s stay behind this hop
      for (let i = hop.from; i < ctx.branches.length; i++) this.port.cancelBranch(ctx, ctx.branches[i]!);
      this.divert(ctx, st, hop, { reason: 'no-answer', target: rule.target }, undefined);
      st.busy = false;
      this.port.settle(ctx);
    });
  }

  /** A 2xx went upstream: no more hops, and no no-answer timer left waiting. */
  onAnswered(ctx: ResponseContext): void {
    const st = this.calls.get(ctx);
    if (st !== undefined) this.deps.timers.cancel(st.hop.noAnswer);
  }

  private nextStep(st: CallState, hop: Hop, best: SipMessage): { from: Hop; step: ForwardStep } | undefined {
    if (best.status >= 300 && best.status < 400 && this.fwd.options.followRedirects) {
      const contacts = redirectTargets(best);
      if (contacts.length > 0) {
        st.alternatives = contacts.slice(1);
        st.redirector = hop;
        return { from: hop, step: { reason: 'deflection', target: contacts[0]! } };
      }
    }
    const step = forwardOnFinal(best.status, hop.rules);
    if (step !== undefined) return { from: hop, step };
    // the next Contact of a 3xx, when the one tried first failed (RFC 3261 16.7 step 5)
    const alt = st.alternatives.shift();
    if (alt !== undefined && st.redirector !== undefined) return { from: st.redirector, step: { reason: 'deflection', target: alt } };
    return undefined;
  }

  /** Open a hop to what routing decided for `uri`. */
  private enter(ctx: ResponseContext, st: CallState, decision: RoutingDecision, uri: string, hiIndex: string): void {
    const user = decision.kind === 'local' ? undefined : decision.user;
    const rules = user === undefined ? undefined : this.fwd.table.get(user);
    const hop: Hop = { from: ctx.branches.length, user, uri, rules, decided: false, noAnswer: undefined, hiIndex, hiGroup: ++st.groups };
    st.hop = hop;
    if (rules?.unconditional !== undefined) {
      hop.decided = true;
      this.divert(ctx, st, hop, { reason: 'unconditional', target: rules.unconditional }, undefined);
      return;
    }
    if (decision.kind === 'local') return; // not reachable: routing of a target never answers locally
    if (decision.kind === 'reply') {
      if (decision.rejection.status === 480 && rules?.unavailable !== undefined) {
        hop.decided = true;
        this.divert(ctx, st, hop, { reason: 'unavailable', target: rules.unavailable }, 480);
        return;
      }
      this.port.addFinal(ctx, decision.rejection);
      return;
    }
    // a target behind a trunk route: a forwarding hop takes the route's first trunk (no failover
    // inside a forwarded hop)
    const targets = decision.targets.length > 0 ? decision.targets : (decision.alternates ?? []).slice(0, 1);
    if (targets.length === 0) { this.port.addFinal(ctx, { status: 503 }); return; }
    this.port.addBranches(ctx, targets, (copy, target) => this.decorate(st, hop, copy, target));
  }

  /** Diversion and History-Info on one forwarded copy. */
  private decorate(st: CallState, hop: Hop, copy: SipMessage, target: Target): void {
    if (this.fwd.options.diversion) {
      const first = copy.has('diversion');
      for (const d of first ? st.diversions : [...st.diversions].reverse()) {
        // newest on top (RFC 5806 section 4), above any that arrived
        if (first) copy.prepend('Diversion', d);
        else copy.append('Diversion', d);
      }
    }
    const h = st.history;
    if (h !== undefined) {
      const own = target.uri === hop.uri ? undefined : h.add(target.uri, hop.hiIndex, { rc: hop.hiIndex }, hop.hiGroup);
      for (const v of h.values(own)) copy.append('History-Info', v);
    }
  }

  /** Forward the call away from `from` (the diverting hop) to the step's target. */
  private divert(ctx: ResponseContext, st: CallState, from: Hop, step: ForwardStep, status: number | undefined): void {
    const opts = this.fwd.options;
    const deps = this.deps;
    this.deps.timers.cancel(from.noAnswer);
    const domain = deps.domains[0] ?? deps.identity.sentBy('udp');
    const uriText = targetUri(step.target, domain);
    let decision: RoutingDecision;
    let key: string;
    try {
      const uri = parseUri(uriText);
      const local = deps.identity.isLocalDomain(uri.host) || deps.identity.isSelf(uri);
      decision = targetsOf(uriText, uri, local, deps);
      key = visitKey(uri, decision.kind === 'local' ? undefined : decision.user);
    } catch {
      this.deadEnd(ctx, st, { status: 480, reason: 'Temporarily Unavailable', headers: [['Reason', 'SIP;cause=480;text="Unusable forwarding target"']] });
      return;
    }
    const label = labelOf(uriText);
    if (st.visited.has(key)) {
      deps.stats.forwardingLoops++;
      this.deadEnd(ctx, st, loopRejection([...st.path, label]));
      return;
    }
    if (st.hops >= opts.maxHops) {
      deps.stats.forwardingHopLimits++;
      this.deadEnd(ctx, st, hopLimitRejection(opts.maxHops));
      return;
    }
    st.hops++;
    st.visited.add(key);
    st.path.push(label);
    deps.stats.countForward(step.reason);
    const divertingUri = from.user === undefined ? from.uri : `sip:${escapeUser(from.user)}@${domain}`;
    st.diversions.push(diversionValue(divertingUri, step.reason));
    let hiIndex = '1';
    if (st.history !== undefined) {
      const cause = causeOf(step.reason, status);
      st.history.setReason(from.hiIndex, from.hiGroup, cause, causeText(cause));
      hiIndex = st.history.add(uriText, st.history.root, { mp: from.hiIndex });
    }
    if (opts.send181) {
      // seed point 4: the notice byte for byte, in a 181 that is a valid response to the INVITE
      const notice = formatForwardingCallInfo(from.user ?? labelOf(from.uri), label);
      this.port.provisional(ctx, buildResponse(ctx.request, 181, { toTag: st.tag, headers: [['Call-Info', notice]] }));
      deps.stats.forwarding181Sent++;
    }
    this.enter(ctx, st, decision, uriText, hiIndex);
  }

  /** Forwarding stops here: this rejection is the call's final response. */
  private deadEnd(ctx: ResponseContext, st: CallState, rejection: Rejection): void {
    st.alternatives = [];
    st.hop = { ...st.hop, from: ctx.branches.length, decided: true, noAnswer: undefined };
    this.port.addFinal(ctx, rejection);
  }
}
