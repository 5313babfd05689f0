// Keeps one line registered at its provider (RFC 3261 10.2): REGISTER with the line's Contact,
// digest answer to 401/407 (RFC 8760: the topmost challenge we can compute, SHA-256 or MD5),
// refresh before the granted expiry, back-off with jitter after a failure; removal of the binding
// (Expires: 0, RFC 3261 10.2.2) when the proxy shuts down.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Originator } from '../proxy/originated.js';
import { appendUriParams } from '../policy/uri-params.js';
import { SipMessage } from '../sip/message.js';
import { parseNameAddr } from '../sip/name-addr.js';
import { parseUri, uriParam } from '../sip/uri.js';
import type { NextHopResolver } from '../proxy/next-hop.js';
import type { SendTarget } from '../transport/types.js';
import type { Timer, TimerWheel } from '../txn/timers.js';
import { callIdForShard } from '../shard/owned-callid.js';
import { answerPeerChallenge } from './peer-auth.js';
import { LINE_PARAM, type Line } from './peers.js';
import type { LineRegistrationState, LineState } from './peer-state.js';

/** First retry after a failure; doubles per failure up to RETRY_CAP_MS, each with +-20% jitter. */
export const RETRY_BASE_MS = 5_000;
export const RETRY_CAP_MS = 300_000;

export interface LineRegistrationDeps {
  originator: Originator;
  resolver: NextHopResolver;
  timers: TimerWheel;
  shardId: number;
  shardCount: number;
  log: Logger;
  now(): number;
  onState(s: LineState): void;
  /** [0, 1); Math.random unless a test fixes it */
  random?: () => number;
  /** the line's last published state, when another shard ran it before (a change of worker count) */
  from?: LineState;
}

/** When to refresh a registration granted for `seconds`: a minute early, or halfway for short ones. */
export function refreshDelayMs(seconds: number): number {
  return (seconds >= 120 ? seconds - 60 : seconds / 2) * 1000;
}

/** Back-off before attempt `failures + 1`: RETRY_BASE_MS doubling, capped, times 0.8..1.2. */
export function retryDelayMs(failures: number, random: number): number {
  const base = Math.min(RETRY_CAP_MS, RETRY_BASE_MS * 2 ** Math.max(0, failures - 1));
  return Math.round(base * (0.8 + 0.4 * random));
}

export class LineRegistration {
  private readonly callId: string;
  private readonly fromTag = randomBytes(6).toString('hex');
  private cseq = 0;
  private expires: number;
  private timer: Timer | undefined;
  private pending: { cancel(): void } | undefined;
  /** challenges answered in a row without success: a second one (not stale) means bad credentials */
  private authRounds = 0;
  private nc = 0;
  private state: LineState;
  private stopped = false;
  /** set while the binding is being removed: called with the final status of the Expires: 0 REGISTER */
  private leaving: ((status: number) => void) | undefined;

  constructor(readonly line: Line, private readonly deps: LineRegistrationDeps) {
    this.callId = callIdForShard(deps.shardId, deps.shardCount, 'sipshard.line');
    this.expires = line.config.expires;
    this.state = deps.from !== undefined
      ? { ...deps.from, shard: deps.shardId }
      : { kind: 'line', name: line.name, state: 'unregistered', lastStatus: undefined, expiresAt: undefined, since: deps.now(), failures: 0, shard: deps.shardId };
  }

  get snapshot(): LineState {
    return { ...this.state };
  }

  start(): void {
    this.deps.onState(this.snapshot);
    this.send(undefined);
  }

  stop(): void {
    this.stopped = true;
    this.deps.timers.cancel(this.timer);
    this.pending?.cancel();
  }

  /**
   * Removes our binding at the provider (REGISTER with Expires: 0, a challenge answered once) so it
   * stops sending calls to an address that is going away, then stops. Resolves with the final
   * status (408 when unanswered), or undefined when the line was not registered.
   */
  unregister(): Promise<number | undefined> {
    if (this.stopped || this.leaving !== undefined || this.state.state !== 'registered') {
      this.stop();
      return Promise.resolve(undefined);
    }
    this.deps.timers.cancel(this.timer);
    this.pending?.cancel();
    this.pending = undefined;
    this.authRounds = 0;
    this.expires = 0;
    return new Promise((resolve) => {
      this.leaving = (status) => {
        this.leaving = undefined;
        this.stop();
        this.setState('unregistered', { lastStatus: status, expiresAt: undefined });
        this.deps.log.info({ line: this.line.name, status }, status < 300 ? 'line unregistered' : 'line unregistration failed');
        resolve(status);
      };
      this.send(undefined);
    });
  }

  /**
   * The provider did not answer the unregistration in time: give up with `status` (408), so the
   * line shows as unregistered rather than registered (its binding at the provider runs out).
   */
  abandonUnregister(status = 408): void {
    if (this.leaving !== undefined) this.leaving(status);
    else this.stop();
  }

  private setState(state: LineRegistrationState, patch: Partial<LineState>): void {
    const changed = state !== this.state.state;
    this.state = { ...this.state, ...patch, state, since: changed ? this.deps.now() : this.state.since };
    this.deps.onState(this.snapshot);
  }

  private build(auth: [string, string] | undefined): SipMessage {
    const line = this.line;
    const req = SipMessage.request('REGISTER', appendUriParams(line.config.registrar, line.uriParams));
    req.append('Max-Forwards', '70');
    req.append('From', `<${line.aor}>;tag=${this.fromTag}`);
    req.append('To', `<${line.aor}>`);
    req.append('Call-ID', this.callId);
    req.append('CSeq', `${++this.cseq} REGISTER`);
    if (auth !== undefined) req.append(auth[0], auth[1]);
    req.append('User-Agent', 'sipshard');
    return req;
  }

  private send(auth: [string, string] | undefined): void {
    if (this.stopped) return;
    if (this.state.state !== 'registered') this.setState('registering', {});
    const hop = this.deps.resolver.resolve(this.line.hop);
    const go = (dest: SendTarget): void => {
      if (this.stopped) return;
      const req = this.build(auth);
      const transport = dest.transport === 'udp' ? '' : `;transport=${dest.transport}`;
      req.append('Contact', `<sip:${this.line.config.username}@${this.deps.originator.sentBy(dest)}${transport};${LINE_PARAM}=${this.line.name}>`);
      req.append('Expires', String(this.expires));
      this.pending = this.deps.originator.send(req, dest, {
        onResponse: (res) => this.onResponse(req, res),
        onTimeout: () => this.fail(408),
      });
    };
    if (hop instanceof Promise) hop.then(go, () => this.fail(503));
    else go(hop);
  }

  private onResponse(req: SipMessage, res: SipMessage): void {
    const status = res.status;
    if (status < 200) return;
    this.pending = undefined;
    if (status < 300) {
      if (this.leaving !== undefined) this.leaving(status);
      else this.registered(res);
      return;
    }
    if (status === 401 || status === 407) {
      const answer = answerPeerChallenge(res, req, this.line, ++this.nc);
      const stale = answer?.stale === true;
      if (answer !== undefined && (this.authRounds === 0 || stale)) {
        this.authRounds++;
        this.send(answer.header);
        return;
      }
      this.fail(status);
      return;
    }
    const minExpires = Number(res.get('min-expires'));
    if (status === 423 && this.leaving === undefined && Number.isInteger(minExpires) && minExpires > this.expires) {
      // RFC 3261 10.2.8: ask again with at least Min-Expires
      this.expires = minExpires;
      this.send(undefined);
      return;
    }
    this.fail(status);
  }

  private registered(res: SipMessage): void {
    this.authRounds = 0;
    const granted = grantedExpires(res, this.line.name) ?? this.expires;
    const now = this.deps.now();
    this.setState('registered', { lastStatus: res.status, expiresAt: now + granted * 1000, failures: 0 });
    this.schedule(refreshDelayMs(granted));
  }

  private fail(status: number): void {
    if (this.stopped) return;
    if (this.leaving !== undefined) { this.leaving(status); return; }
    this.pending = undefined;
    this.authRounds = 0;
    const failures = this.state.failures + 1;
    this.setState('failed', { lastStatus: status, expiresAt: undefined, failures });
    const delay = retryDelayMs(failures, (this.deps.random ?? Math.random)());
    this.deps.log.warn({ line: this.line.name, status, retryInMs: delay }, 'line registration failed');
    this.schedule(delay);
  }

  private schedule(ms: number): void {
    this.deps.timers.cancel(this.timer);
    this.timer = this.deps.timers.schedule(ms, () => this.send(undefined));
  }
}

/** The expiry the registrar granted our Contact: its `expires` param, else the Expires header. */
function grantedExpires(res: SipMessage, lineName: string): number | undefined {
  for (const c of res.getAll('contact')) {
    try {
      const na = parseNameAddr(c);
      if (uriParam(parseUri(na.uri), LINE_PARAM) !== lineName) continue;
      const e = na.params.find(([k]) => k === 'expires')?.[1];
      if (e !== undefined && e !== null && /^\d+$/.test(e)) return Number(e);
    } catch {
      // a Contact we cannot parse is not ours
    }
  }
  const h = res.get('expires');
  return h !== undefined && /^\d+$/.test(h.trim()) ? Number(h.trim()) : undefined;
}

