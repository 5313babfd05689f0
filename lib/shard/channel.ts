// Messages between the main thread and a shard over its MessagePort. Always arrays (batches): one
// postMessage per event-loop turn carries many SIP messages (DESIGN.md hot-path rules), each run of
// them packed into one transferred ArrayBuffer (sip-frames.ts).
import type { Config } from '../config/schema.js';
import type { LineUnregistered } from '../peers/peer-runtime.js';
import type { PeerState } from '../peers/peer-state.js';
import type { Rel100Learned } from '../policy/rel100.js';
import type { HistogramSnapshot } from '../metrics/histogram.js';
import type { WireBindingUpdate } from '../registrar/binding-wire.js';
import type { ListenerConfig, SendTarget } from '../transport/types.js';
import type { PackedSip } from './sip-frames.js';

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
  /** confirmed dialogs checkpointed by this shard's previous thread (lib/shard/dialog-checkpoint.ts) */
  dialogs?: Uint8Array[];
  /** nonces issued before this time (ms) are stale here: a replacement lost the nc counters */
  nonceNotBefore?: number;
  /** peers in 100rel `auto` mode already switched to disable (persisted by the main thread) */
  rel100?: Rel100Learned[];
}

export type ToShard =
  /** one message (in-thread callers); the pool sends runs of them packed */
  | { t: 'sip'; d: Uint8Array; s: SendTarget }
  /** a run of messages in one transferred buffer, each with the target it came from (sip-frames.ts) */
  | PackedSip
  /** a binding set to apply (binding-wire.ts: bindings as arrays) */
  | { t: 'bind'; u: WireBindingUpdate }
  | { t: 'peer'; s: PeerState }
  /** a 100rel disable learned (l) or reset by the operator (l null) for peer p */
  | { t: 'rel100'; p: string; l: Rel100Learned | null }
  | { t: 'stats'; id: number }
  /** a page of this shard's dialogs, answered with a 'reply' carrying a DialogPage */
  | { t: 'dialogs'; id: number; offset: number; limit: number }
  /** swap users, routes, auth and proxy settings between two batches; 'reply' carries ConfigApplied */
  | { t: 'config'; id: number; config: Config }
  /** shutdown: remove the bindings of the lines this shard registers; 'reply' carries LinesUnregistered */
  | { t: 'unregister'; id: number; withinMs: number }
  | { t: 'crash' }
  /** the worker count is now `count`: answered with a 'resharded' (lib/shard/handover.ts) */
  | { t: 'reshard'; count: number }
  /** confirmed dialogs moved here from another shard (packed as in dialog-checkpoint.ts) */
  | { t: 'import'; d: Uint8Array[] }
  /** pinned Call-IDs whose deadline passed: release them now (each answered with an 'unpin') */
  | { t: 'release'; c: string[] }
  | { t: 'stop' };

export type FromShard =
  | { t: 'sip'; d: Uint8Array; to: SendTarget }
  /**
   * the batch's messages to send, packed by the shard's port into one run after the batch's other
   * items (sip-frames.ts packSipAfterControl: those are handled first), each with its destination
   */
  | PackedSip
  /** a REGISTER changed an AOR's bindings (binding-wire.ts: bindings as arrays) */
  | { t: 'bind'; u: WireBindingUpdate }
  | { t: 'peer'; s: PeerState }
  /** this shard learned a 100rel disable (a PRACK refused by an `auto` peer) */
  | { t: 'rel100'; l: Rel100Learned }
  /** checkpoint of a confirmed dialog (msgpackr), null when it ended */
  | { t: 'dlg'; k: string; d: Uint8Array | null }
  /** a failed digest check from this source address (per-source back-off on the main thread) */
  | { t: 'authfail'; a: string }
  /** what this shard gave away and what it keeps for now after a 'reshard' */
  | { t: 'resharded'; v: ReshardAnswer }
  /** a pinned Call-ID left this shard, with its confirmed dialogs */
  | { t: 'unpin'; c: string; d: MovedDialog[] }
  /** a message for a Call-ID that left this shard: the main thread dispatches it again */
  | { t: 'redispatch'; d: Uint8Array; s: SendTarget }
  | { t: 'stats'; id: number; v: ShardStatsReport }
  | { t: 'reply'; id: number; v: DialogPage | ConfigApplied | LinesUnregistered };

/** A dialog leaving a shard: its checkpoint key (dialogKey) and packed bytes. */
export type MovedDialog = [key: string, bytes: Uint8Array];

export interface ReshardAnswer {
  shardId: number;
  count: number;
  /** dialogs of Call-IDs that now hash elsewhere and had no live transaction (dropped here) */
  moved: MovedDialog[];
  /** Call-IDs that now hash elsewhere but stay here until their transactions end */
  pinned: string[];
}

export interface FromShardBatch {
  /** how many inbound SIP messages this batch acknowledges (in-flight accounting) */
  n: number;
  out: FromShard[];
}

export interface ShardStatsReport {
  shardId: number;
  counters: Record<string, number>;
  /** open transactions, the kept Completed ones below included */
  transactions: number;
  /** non-INVITE server transactions in Completed kept off the heap for Timer J, and the bytes of their store */
  completed: { records: number; bytes: number };
  /** server transactions without a final response yet */
  pending: number;
  dialogs: { early: number; confirmed: number; total: number };
  timers: number;
  /** INVITE to first 2xx, ms */
  callSetupMs: HistogramSnapshot;
  /** Call-IDs kept here after a resize until their transactions end */
  pinned: number;
}

/** A dialog as the admin API shows it: plain data, times in ms since epoch. */
export interface DialogInfo {
  callId: string;
  state: 'early' | 'confirmed' | 'terminated';
  callerTag: string;
  calleeTag: string;
  caller: string;
  callee: string;
  createdAt: number;
  confirmedAt: number | null;
}

export interface DialogPage {
  shardId: number;
  total: number;
  dialogs: DialogInfo[];
}

export interface LinesUnregistered {
  shardId: number;
  lines: LineUnregistered[];
}

export interface ConfigApplied {
  shardId: number;
  ok: boolean;
  error?: string;
}
