// The peers of one shard: the resolved lines and trunks, the state table every shard keeps, the
// legs of calls to peers, and the registrations and keep-alives of the peers this shard owns
// (ownerShard(name)): their requests carry Call-IDs that hash back here.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { NextHopResolver } from '../proxy/next-hop.js';
import type { Originator } from '../proxy/originated.js';
import { ownerShard } from '../shard/owned-callid.js';
import type { TimerWheel } from '../txn/timers.js';
import { effectiveRel100, type Rel100Learned } from '../policy/rel100.js';
import { LineRegistration } from './line-registration.js';
import { PeerLegs, type PeerTarget } from './peer-legs.js';
import { PeerStateTable, type LineState, type PeerState, type TrunkState } from './peer-state.js';
import { Peers } from './peers.js';
import { TrunkCalls } from './trunk-calls.js';
import { TrunkKeepAlive } from './trunk-keepalive.js';

/** What became of one line's binding at shutdown: the final status, null when it was not registered. */
export interface LineUnregistered {
  line: string;
  status: number | null;
}

export interface PeerRuntimeDeps {
  config: Config;
  shardId: number;
  shardCount: number;
  /** shared call counters of the trunks (TrunkCalls.bytesFor); a private buffer when absent */
  trunkCalls: SharedArrayBuffer | undefined;
  /** states known when the shard starts (a replacement shard learns which trunks are down) */
  initialStates: readonly PeerState[];
  originator: Originator;
  resolver: NextHopResolver;
  timers: TimerWheel;
  log: Logger;
  now(): number;
  /** a state of a peer this shard owns changed: for the main thread and the other shards */
  publish(s: PeerState): void;
  /** 100rel disables learned so far (kept by the main thread across restarts) */
  initialRel100?: readonly Rel100Learned[];
  /** this shard learned a 100rel disable: for the main thread (persists, broadcasts) and metrics */
  publishRel100?(l: Rel100Learned): void;
}

export class PeerRuntime {
  readonly peers: Peers;
  readonly states = new PeerStateTable();
  readonly legs: PeerLegs;
  private registrations: LineRegistration[] = [];
  private keepAlives: TrunkKeepAlive[] = [];
  private started = false;
  /** peers in 100rel `auto` mode that refused a PRACK, by name */
  readonly rel100Learned = new Map<string, Rel100Learned>();

  constructor(private readonly deps: PeerRuntimeDeps) {
    const { config, shardId } = deps;
    this.peers = new Peers(config);
    for (const s of deps.initialStates) this.states.apply(s);
    for (const l of deps.initialRel100 ?? []) this.rel100Learned.set(l.peer, l);
    const buffer = deps.trunkCalls ?? new ArrayBuffer(TrunkCalls.bytesFor(config.trunks.length));
    this.legs = new PeerLegs(new TrunkCalls(buffer, shardId), this.states, deps.now);
    this.own(deps.shardCount);
  }

  /** Registrations and keep-alives of the peers this shard owns among `shardCount` shards. */
  private own(shardCount: number): void {
    const { deps } = this;
    const { shardId } = deps;
    const onState = (s: PeerState): void => { this.states.apply(s); deps.publish(s); };
    const common = { originator: deps.originator, resolver: deps.resolver, timers: deps.timers, shardId, shardCount, log: deps.log, now: deps.now, onState };
    for (const line of this.peers.lines.values()) {
      if (line.config.register && ownerShard(line.name, shardCount) === shardId) {
        this.registrations.push(new LineRegistration(line, { ...common, from: this.lineState(line.name) }));
      }
    }
    for (const trunk of this.peers.trunkList) {
      if (trunk.config.keepAlive.intervalSeconds > 0 && ownerShard(trunk.name, shardCount) === shardId) {
        this.keepAlives.push(new TrunkKeepAlive(trunk, { ...common, maxWaitMs: 64 * deps.config.proxy.t1Ms, from: this.trunkState(trunk.name) }));
      }
    }
  }

  private lineState(name: string): LineState | undefined {
    const s = this.states.get(name);
    return s?.kind === 'line' ? s : undefined;
  }

  private trunkState(name: string): TrunkState | undefined {
    const s = this.states.get(name);
    return s?.kind === 'trunk' ? s : undefined;
  }

  start(): void {
    this.started = true;
    for (const r of this.registrations) r.start();
    for (const k of this.keepAlives) k.start();
  }

  /**
   * The worker count changed: ownership and the Call-IDs of our own requests follow the new count.
   * Every shard stops what it ran and starts what it owns now, from the last published state: a
   * line re-registers at once with a new Call-ID (its binding at the provider never lapses), a
   * trunk's keep-alive goes on with its up/down state. Responses to requests in flight at the
   * change are lost (they hash elsewhere now); the next REGISTER or ping replaces them.
   */
  reshard(shardCount: number): void {
    this.stop();
    this.registrations = [];
    this.keepAlives = [];
    this.own(shardCount);
    if (this.started) this.start();
  }

  /** A state published by the shard that owns the peer. */
  apply(s: PeerState): void {
    this.states.apply(s);
  }

  /** The 100rel mode INVITEs to this peer get now. */
  rel100Mode(peer: PeerTarget): 'passthrough' | 'disable' {
    const c = peer.kind === 'line' ? peer.line.config : peer.trunk.config;
    return effectiveRel100(c.rel100, this.rel100Learned.has(c.name));
  }

  /** The peer answered a PRACK with 405/501: an `auto` peer is disabled for new calls from now on. */
  prackRefused(peer: PeerTarget, status: number): void {
    const c = peer.kind === 'line' ? peer.line.config : peer.trunk.config;
    if (c.rel100 !== 'auto' || this.rel100Learned.has(c.name)) return;
    const l: Rel100Learned = { peer: c.name, learnedAt: this.deps.now(), status };
    this.rel100Learned.set(c.name, l);
    this.deps.log.warn({ peer: c.name, kind: peer.kind, status }, `peer ${c.name} answered PRACK with ${status}: 100rel disabled for its new calls (rel100: auto)`);
    this.deps.publishRel100?.(l);
  }

  /** A disable learned on another shard (l), or an operator's reset (undefined). */
  applyRel100(peer: string, l: Rel100Learned | undefined): void {
    if (l === undefined) this.rel100Learned.delete(peer);
    else this.rel100Learned.set(peer, l);
  }

  /**
   * Shutdown: every registered line this shard owns removes its binding at the provider; a line
   * still unanswered after `withinMs` is reported as 408 (the provider's binding then runs out).
   */
  async unregisterLines(withinMs: number): Promise<LineUnregistered[]> {
    for (const k of this.keepAlives) k.stop();
    return Promise.all(this.registrations.map(async (r): Promise<LineUnregistered> => {
      const answered = r.unregister();
      const timer = this.deps.timers.schedule(withinMs, () => r.abandonUnregister());
      const status = await answered;
      this.deps.timers.cancel(timer);
      return { line: r.line.name, status: status ?? null };
    }));
  }

  stop(): void {
    for (const r of this.registrations) r.stop();
    for (const k of this.keepAlives) k.stop();
  }
}
