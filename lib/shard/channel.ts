// Messages between the main thread and a shard over its MessagePort. Always arrays (batches): one
// postMessage per event-loop turn carries many SIP messages (DESIGN.md hot-path rules).
import type { Config } from '../config/schema.js';
import type { PeerState } from '../peers/peer-state.js';
import type { BindingUpdate } from '../registrar/binding.js';
import type { ListenerConfig, SendTarget } from '../transport/types.js';

export interface ShardInit {
  shardId: number;
  shardCount: number;
  config: Config;
  /** listeners as bound (real ports), for our Via / Record-Route */
  listeners: ListenerConfig[];
  /** shared by all shards so a nonce issued on one verifies on another */
  nonceSecret: Uint8Array;
  /** location snapshot (LocationStore.snapshot()) or empty */
  location: Uint8Array;
  /** call counters of the trunks, shared by all shards (TrunkCalls); absent: per shard */
  trunkCalls?: SharedArrayBuffer;
  /** line and trunk states the main thread knows (a replacement shard starts from them) */
  peerStates?: PeerState[];
}

export type ToShard =
  | { t: 'sip'; d: Uint8Array; s: SendTarget }
  | { t: 'bind'; u: BindingUpdate }
  | { t: 'peer'; s: PeerState }
  | { t: 'stats'; id: number }
  | { t: 'crash' }
  | { t: 'stop' };

export type FromShard =
  | { t: 'sip'; d: Uint8Array; to: SendTarget }
  | { t: 'bind'; u: BindingUpdate }
  | { t: 'peer'; s: PeerState }
  | { t: 'stats'; id: number; v: ShardStatsReport };

export interface FromShardBatch {
  /** how many inbound SIP messages this batch acknowledges (in-flight accounting) */
  n: number;
  out: FromShard[];
}

export interface ShardStatsReport {
  shardId: number;
  counters: Record<string, number>;
  transactions: number;
  dialogs: { early: number; confirmed: number; total: number };
  timers: number;
}
