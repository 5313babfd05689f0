// OPTIONS keep-alive of one trunk (RFC 3261 11): any response means the peer is alive, even an
// error; `failuresBeforeDown` unanswered pings in a row mark it down, one answer brings it back up.
import { randomBytes } from 'node:crypto';
import type { Logger } from '../log.js';
import type { NextHopResolver } from '../proxy/next-hop.js';
import type { Originator } from '../proxy/originated.js';
import { appendUriParams } from '../policy/uri-params.js';
import { callIdForShard } from '../shard/owned-callid.js';
import { SipMessage } from '../sip/message.js';
import { formatUri } from '../sip/uri.js';
import type { SendTarget } from '../transport/types.js';
import type { Timer, TimerWheel } from '../txn/timers.js';
import type { Trunk } from './peers.js';
import type { TrunkState } from './peer-state.js';

export interface TrunkKeepAliveDeps {
  originator: Originator;
  resolver: NextHopResolver;
  timers: TimerWheel;
  shardId: number;
  shardCount: number;
  /** a ping unanswered after this long (or when the next one is due) counts as lost */
  maxWaitMs: number;
  log: Logger;
  now(): number;
  onState(s: TrunkState): void;
  /** the trunk's last published state, when another shard ran it before (a change of worker count) */
  from?: TrunkState;
}

export class TrunkKeepAlive {
  private state: TrunkState;
  private timer: Timer | undefined;
  private waiting: Timer | undefined;
  private pending: { cancel(): void } | undefined;
  private stopped = false;
  private readonly fromTag = randomBytes(6).toString('hex');
  private readonly intervalMs: number;

  constructor(readonly trunk: Trunk, private readonly deps: TrunkKeepAliveDeps) {
    this.intervalMs = trunk.config.keepAlive.intervalSeconds * 1000;
    this.state = deps.from !== undefined
      ? { ...deps.from, shard: deps.shardId }
      : { kind: 'trunk', name: trunk.name, state: 'up', monitored: true, lastStatus: undefined, since: deps.now(), failures: 0, shard: deps.shardId };
  }

  get snapshot(): TrunkState {
    return { ...this.state };
  }

  start(): void {
    this.deps.onState(this.snapshot);
    this.ping();
  }

  stop(): void {
    this.stopped = true;
    this.deps.timers.cancel(this.timer);
    this.deps.timers.cancel(this.waiting);
    this.pending?.cancel();
  }

  private ping(): void {
    if (this.stopped) return;
    this.timer = this.deps.timers.schedule(this.intervalMs, () => this.ping());
    // the previous ping still unanswered at the next one's time is lost
    if (this.pending !== undefined) { this.pending.cancel(); this.lost(); }
    const hop = this.deps.resolver.resolve(this.trunk.hop);
    if (hop instanceof Promise) hop.then((d) => this.send(d), () => this.lost());
    else this.send(hop);
  }

  private send(dest: SendTarget): void {
    if (this.stopped) return;
    const target = { ...this.trunk.hop, params: this.trunk.hop.params.filter(([k]) => k !== 'transport') };
    const uri = appendUriParams(formatUri(target), this.trunk.uriParams);
    const req = SipMessage.request('OPTIONS', uri);
    const sentBy = this.deps.originator.sentBy(dest);
    req.append('Max-Forwards', '70');
    req.append('From', `<sip:keepalive@${sentBy}>;tag=${this.fromTag}`);
    req.append('To', `<${uri}>`);
    // a fresh Call-ID per ping: peers (and sipp) treat each ping as a call of its own
    req.append('Call-ID', callIdForShard(this.deps.shardId, this.deps.shardCount, 'sipshard.ping'));
    req.append('CSeq', '1 OPTIONS');
    req.append('Accept', 'application/sdp');
    if (this.deps.maxWaitMs < this.intervalMs) {
      this.waiting = this.deps.timers.schedule(this.deps.maxWaitMs, () => { this.pending?.cancel(); this.lost(); });
    }
    this.pending = this.deps.originator.send(req, dest, {
      onResponse: (res) => { if (res.status >= 200) this.answered(res.status); },
      onTimeout: () => this.lost(),
    });
  }

  private answered(status: number): void {
    this.pending = undefined;
    this.deps.timers.cancel(this.waiting);
    const wasDown = this.state.state === 'down';
    if (wasDown) this.deps.log.info({ trunk: this.trunk.name, status }, 'trunk is up again');
    if (wasDown || this.state.failures > 0 || this.state.lastStatus !== status) {
      this.state = { ...this.state, state: 'up', failures: 0, lastStatus: status, since: wasDown ? this.deps.now() : this.state.since };
      this.deps.onState(this.snapshot);
    }
  }

  private lost(): void {
    if (this.stopped) return;
    this.pending = undefined;
    this.deps.timers.cancel(this.waiting);
    const failures = this.state.failures + 1;
    const down = this.state.state === 'down' || failures >= this.trunk.config.keepAlive.failuresBeforeDown;
    if (down && this.state.state === 'up') this.deps.log.warn({ trunk: this.trunk.name, failures }, 'trunk is down: OPTIONS unanswered');
    this.state = { ...this.state, state: down ? 'down' : 'up', failures, lastStatus: 408, since: down && this.state.state === 'up' ? this.deps.now() : this.state.since };
    this.deps.onState(this.snapshot);
  }
}
