// The peers of one shard: the resolved lines and trunks, the state table every shard keeps, the
// legs of calls to peers, and the registrations and keep-alives of the peers this shard owns
// (ownerShard(name)): their requests carry Call-IDs that hash back here.
import type { Config } from '../config/schema.js';
import type { Logger } from '../log.js';
import type { NextHopResolver } from '../proxy/next-hop.js';
import type { Originator } from '../proxy/originated.js';
import { ownerShard } from '../shard/owned-callid.js';
import type { TimerWheel } from '../txn/timers.js';
import { LineRegistration } from './line-registration.js';
import { PeerLegs } from './peer-legs.js';
import { PeerStateTable, type PeerState } from './peer-state.js';
import { Peers } from './peers.js';
import { TrunkCalls } from './trunk-calls.js';
import { TrunkKeepAlive } from './trunk-keepalive.js';

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
}

export class PeerRuntime {
  readonly peers: Peers;
  readonly states = new PeerStateTable();
  readonly legs: PeerLegs;
  private readonly registrations: LineRegistration[] = [];
  private readonly keepAlives: TrunkKeepAlive[] = [];

  constructor(private readonly deps: PeerRuntimeDeps) {
    const { config, shardId, shardCount } = deps;
    this.peers = new Peers(config);
    for (const s of deps.initialStates) this.states.apply(s);
    const buffer = deps.trunkCalls ?? new ArrayBuffer(TrunkCalls.bytesFor(config.trunks.length, shardCount));
    this.legs = new PeerLegs(new TrunkCalls(buffer, shardCount, shardId), this.states, deps.now);
    const onState = (s: PeerState): void => { this.states.apply(s); deps.publish(s); };
    const common = { originator: deps.originator, resolver: deps.resolver, timers: deps.timers, shardId, shardCount, log: deps.log, now: deps.now, onState };
    for (const line of this.peers.lines.values()) {
      if (line.config.register && ownerShard(line.name, shardCount) === shardId) this.registrations.push(new LineRegistration(line, common));
    }
    for (const trunk of this.peers.trunkList) {
      if (trunk.config.keepAlive.intervalSeconds > 0 && ownerShard(trunk.name, shardCount) === shardId) {
        this.keepAlives.push(new TrunkKeepAlive(trunk, { ...common, maxWaitMs: 64 * config.proxy.t1Ms }));
      }
    }
  }

  start(): void {
    for (const r of this.registrations) r.start();
    for (const k of this.keepAlives) k.start();
  }

  /** A state published by the shard that owns the peer. */
  apply(s: PeerState): void {
    this.states.apply(s);
  }

  stop(): void {
    for (const r of this.registrations) r.stop();
    for (const k of this.keepAlives) k.stop();
  }
}
