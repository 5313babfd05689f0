// Everything one shard runs, built from its ShardInit: proxy core, registrar, dialogs, timers.
// Thread-agnostic: the worker entry wires it to a MessagePort, tests drive it directly.
import { randomBytes } from 'node:crypto';
import { DialogTable, dialogKey } from '../dialog/dialog-table.js';
import { createLogger, type Logger } from '../log.js';
import { StaticRoutes } from '../peers/static-routes.js';
import { PeerRuntime } from '../peers/peer-runtime.js';
import { ForwardingTable } from '../policy/forwarding-table.js';
import { Originator } from '../proxy/originated.js';
import { LocalIdentity } from '../proxy/local-identity.js';
import { NextHopResolver } from '../proxy/next-hop.js';
import { ProxyCore, type ProxyCoreDeps } from '../proxy/proxy-core.js';
import { ShardStats } from '../proxy/shard-stats.js';
import { DigestAuthenticator } from '../registrar/authenticator.js';
import type { BindingUpdate } from '../registrar/binding.js';
import { LocationStore } from '../registrar/location-store.js';
import { NonceManager } from '../registrar/nonce.js';
import { Registrar } from '../registrar/registrar.js';
import type { SendTarget } from '../transport/types.js';
import { copyOf, ownsBuffer } from '../sip/message.js';
import { TimerWheel, type Clock, systemClock } from '../txn/timers.js';
import type { Config } from '../config/schema.js';
import type { TxnTimersConfig } from '../txn/context.js';
import type { ConfigApplied, DialogPage, FromShard, FromShardBatch, MovedDialog, ShardInit, ShardStatsReport, ToShard } from './channel.js';
import { packDialog, unpackDialog } from './dialog-checkpoint.js';
import { Handover } from './handover.js';
import { LiveCallIds } from './live-call-ids.js';
import { MAIN_SHARD_ID } from '../config/limits.js';
import { forEachSip } from './sip-frames.js';
import { bindingUpdateFromWire, bindingUpdateToWire } from '../registrar/binding-wire.js';
import { NetworkList } from '../security/trusted-networks.js';

const DIALOG_SWEEP_MS = 60_000;
const DIALOG_MAX_AGE_MS = 12 * 3600_000;

type ConfiguredDeps = Pick<ProxyCoreDeps, 'identity' | 'domains' | 'options' | 'registrar' | 'users' | 'routes' | 'inviteAuth' | 'forwarding' | 'trustedNetworks'> & { times: TxnTimersConfig };

export class ShardRuntime {
  readonly stats = new ShardStats();
  readonly dialogs = new DialogTable();
  readonly location: LocationStore;
  readonly timers: TimerWheel;
  readonly core: ProxyCore;
  /** per-user forwarding rules; an admin API can change a user's entry while calls run */
  readonly forwardingTable: ForwardingTable;
  /** one object for the core's whole life: a reload changes what is inside it */
  private forwardingDeps: NonNullable<ProxyCoreDeps['forwarding']> | undefined;
  /** lines and trunks: built once (they are restart-only settings) */
  readonly peers: PeerRuntime;
  readonly log: Logger;
  private out: FromShard[] = [];
  private acked = 0;
  private flushScheduled = false;
  /** inside handleBatch, which flushes at its end: what is emitted meanwhile needs no setImmediate */
  private batching = false;
  private tagCounter = 0;
  private readonly tagPrefix = randomBytes(4).toString('hex');
  private readonly toTag = (): string => `${this.tagPrefix}${(this.tagCounter++).toString(36)}`;
  private readonly coreDeps: ProxyCoreDeps;
  private nonces: NonceManager | undefined;
  private nonceTtl = 0;
  /** Call-IDs pinned here or handed to other shards after a change of worker count */
  readonly handover: Handover;
  /** the main thread's shard beside the workers only: Call-IDs with live transactions here */
  private readonly liveCallIds: LiveCallIds | undefined;

  constructor(readonly init: ShardInit, private readonly post: (batch: FromShardBatch) => void, private readonly clock: Clock = systemClock, autoTick = true) {
    const cfg = init.config;
    this.log = createLogger(cfg.log.level, { shard: init.shardId });
    this.timers = new TimerWheel(clock, 10, autoTick);
    this.location = init.location.byteLength > 0 ? LocationStore.restore(Buffer.from(init.location)) : new LocationStore();
    this.forwardingTable = new ForwardingTable(cfg.users);
    const { times, ...configured } = this.configured(cfg);
    const txn = { timers: this.timers, times, send: (to: SendTarget, data: Buffer) => this.emit({ t: 'sip', d: data, to }) };
    const resolver = new NextHopResolver();
    const now = (): number => clock.now();
    const originator = new Originator(txn, configured.identity, init.shardId);
    this.peers = new PeerRuntime({
      config: cfg, shardId: init.shardId, shardCount: init.shardCount, trunkCalls: init.trunkCalls, initialStates: init.peerStates ?? [],
      originator, resolver, timers: this.timers, log: this.log, now, publish: (s) => this.emit({ t: 'peer', s }),
      initialRel100: init.rel100, publishRel100: (l) => { this.stats.rel100Learned++; this.emit({ t: 'rel100', l }); },
    });
    this.coreDeps = {
      shardId: init.shardId,
      txn,
      resolver,
      originator,
      peers: this.peers.peers,
      peerLegs: this.peers.legs,
      rel100: { mode: (p) => this.peers.rel100Mode(p), prackRefused: (p, status) => this.peers.prackRefused(p, status) },
      dialogs: this.dialogs,
      stats: this.stats,
      location: this.location,
      log: this.log,
      onBindingUpdate: (u) => { this.stats.registrations++; this.emit({ t: 'bind', u: bindingUpdateToWire(u) }); },
      onAuthFailure: (source) => { this.stats.authFailures++; this.emit({ t: 'authfail', a: source.address }); },
      toTag: this.toTag,
      now: () => clock.now(),
      ...configured,
    };
    this.handover = new Handover({
      shardId: init.shardId,
      liveCallIds: () => this.core.liveCallIds(),
      dialogCallIds: () => this.dialogs.callIds(),
      takeDialogs: (callId) => this.takeDialogs(callId),
      released: (c, d) => this.emit({ t: 'unpin', c, d }),
      now,
      // a late message can only be one the main thread sent before it read our release
      goneMs: 64 * cfg.proxy.t1Ms + 5000,
    }, init.shardCount);
    // the main thread's shard beside the workers is never resharded, and it dies only with the
    // process: it tracks its Call-IDs for the main thread instead of pins, and checkpoints nothing
    this.liveCallIds = init.shardId === MAIN_SHARD_ID ? new LiveCallIds() : undefined;
    this.coreDeps.txnWatch = this.liveCallIds ?? this.handover;
    this.core = new ProxyCore(this.coreDeps);
    this.restoreDialogs(init.dialogs ?? []);
    if (this.liveCallIds === undefined) this.dialogs.onConfirmedChange = (k, d) => this.emit({ t: 'dlg', k, d: d === undefined ? null : packDialog(d) });
    if (autoTick) {
      setInterval(this.sweepStale, DIALOG_SWEEP_MS).unref();
    }
    this.peers.start();
  }

  /**
   * Drops dialogs and peer legs past their longest life. A throw here is handled as a transaction
   * timer's is: where the timers' onError is set (the shard on the main thread) it is counted and
   * logged, elsewhere it ends the worker thread, which is replaced.
   */
  private readonly sweepStale = (): void => {
    try {
      this.dialogs.sweep(this.clock.now(), DIALOG_MAX_AGE_MS);
      this.peers.legs.sweep(this.clock.now(), DIALOG_MAX_AGE_MS);
    } catch (err) {
      if (this.timers.onError === undefined) throw err;
      this.timers.onError(err);
    }
  };

  /** The parts of the core's dependencies that come from the config (users, routes, auth, options). */
  private configured(cfg: Config): ConfiguredDeps {
    const users = new Map(cfg.users.map((u) => [u.username, { password: u.password }]));
    const now = (): number => this.clock.now();
    // keep the nonce replay cache across reloads unless the nonce lifetime changed
    if (this.nonces === undefined || this.nonceTtl !== cfg.auth.nonceTtlSeconds) {
      this.nonces = new NonceManager({ secret: Buffer.from(this.init.nonceSecret), ttlSeconds: cfg.auth.nonceTtlSeconds, now, notBefore: this.init.nonceNotBefore });
      this.nonceTtl = cfg.auth.nonceTtlSeconds;
    }
    const auth = new DigestAuthenticator({ realm: cfg.auth.realm, algorithms: [...cfg.auth.algorithms], nonces: this.nonces, passwordOf: (u) => users.get(u)?.password });
    const registrar = new Registrar({
      domains: [...cfg.domains], auth: cfg.auth.register ? auth : undefined, users,
      minExpires: cfg.registrar.minExpires, maxExpires: cfg.registrar.maxExpires, defaultExpires: cfg.registrar.defaultExpires,
      maxContacts: cfg.registrar.maxContacts, store: this.location, now, toTag: this.toTag,
    });
    return {
      identity: new LocalIdentity(this.init.listeners, cfg.domains),
      domains: cfg.domains,
      options: { recordRoute: cfg.proxy.recordRoute, maxForwards: cfg.proxy.maxForwards, timerCMs: cfg.proxy.timerCSeconds * 1000 },
      registrar,
      users,
      routes: new StaticRoutes(cfg.routes),
      inviteAuth: cfg.auth.invite ? auth : undefined,
      trustedNetworks: new NetworkList(cfg.security.trustedNetworks),
      forwarding: this.forwardingOf(cfg),
      times: { t1Ms: cfg.proxy.t1Ms, t2Ms: cfg.proxy.t2Ms, t4Ms: cfg.proxy.t4Ms },
    };
  }

  private forwardingOf(cfg: Config): NonNullable<ProxyCoreDeps['forwarding']> {
    if (this.forwardingDeps === undefined) this.forwardingDeps = { options: cfg.forwarding, table: this.forwardingTable };
    else this.forwardingDeps.options = cfg.forwarding;
    return this.forwardingDeps;
  }

  /**
   * Live reload: everything built from the config is replaced between two batches, so each message
   * sees either the old or the new config whole. Transactions and dialogs in progress carry on.
   */
  applyConfig(cfg: Config): void {
    this.forwardingTable.replaceAll(cfg.users);
    const { times, ...configured } = this.configured(cfg);
    Object.assign(this.coreDeps, configured);
    Object.assign(this.coreDeps.txn.times, times);
    this.log.level = cfg.log.level;
  }

  private restoreDialogs(checkpoints: readonly Uint8Array[]): void {
    if (checkpoints.length === 0) return;
    this.importDialogs(checkpoints);
    this.stats.dialogsRestored += this.dialogs.stats().confirmed;
    this.log.warn({ dialogs: this.stats.dialogsRestored, checkpoints: checkpoints.length }, 'confirmed dialogs restored from checkpoints');
  }

  /** Confirmed dialogs from packed bytes (a predecessor's checkpoints, or moved by a resize). */
  private importDialogs(packed: readonly Uint8Array[]): number {
    const before = this.dialogs.stats().confirmed;
    for (const bytes of packed) {
      const d = unpackDialog(bytes);
      if (d !== undefined) this.dialogs.restore(d);
    }
    return this.dialogs.stats().confirmed - before;
  }

  /** The Call-ID's dialogs leave this shard (resharding): packed, and dropped here with their peer legs. */
  private takeDialogs(callId: string): MovedDialog[] {
    const out: MovedDialog[] = [];
    for (const d of this.dialogs.take(callId)) {
      // the leg's trunk call slot is released here: the new owner does not count the call (README)
      this.peers.legs.endDialog(d.callId, d.callerTag, d.calleeTag);
      if (d.state === 'confirmed') out.push([dialogKey(d.callId, d.callerTag, d.calleeTag), packDialog(d)]);
    }
    this.stats.dialogsHandedOff += out.length;
    return out;
  }

  /** The worker count changed: peers this shard owns now, and which Call-IDs leave or stay pinned. */
  private reshard(count: number): void {
    this.peers.reshard(count);
    const answer = this.handover.plan(count);
    this.out.push({ t: 'resharded', v: answer });
    if (answer.moved.length + answer.pinned.length > 0) this.log.debug({ count, moved: answer.moved.length, pinned: answer.pinned.length }, 'resharded');
  }

  /** One batch from the main thread. */
  handleBatch(items: readonly ToShard[]): void {
    this.batching = true;
    try {
      this.handleItems(items);
    } catch (err) {
      // what was emitted before the throw still goes out, as emit would have arranged
      this.batching = false;
      this.scheduleFlush();
      throw err;
    }
    this.batching = false;
    this.flush();
  }

  private handleItems(items: readonly ToShard[]): void {
    for (const item of items) {
      switch (item.t) {
        case 'sip':
          this.receiveSip(Buffer.from(item.d.buffer, item.d.byteOffset, item.d.byteLength), item.s);
          break;
        case 'sipb':
          // read in place: what the core keeps beyond the batch gets bytes of its own then
          // (SipMessage.keepBytes), so no copy, and no ArrayBuffer to free, for the rest
          forEachSip(item, (view, s) => this.receiveSip(view, s));
          break;
        case 'bind':
          this.location.replace(bindingUpdateFromWire(item.u, this.location.stored(item.u.aor)));
          break;
        case 'peer':
          this.peers.apply(item.s);
          break;
        case 'rel100':
          this.peers.applyRel100(item.p, item.l ?? undefined);
          break;
        case 'stats':
          this.out.push({ t: 'stats', id: item.id, v: this.report() });
          break;
        case 'dialogs':
          this.out.push({ t: 'reply', id: item.id, v: this.dialogPage(item.offset, item.limit) });
          break;
        case 'config':
          this.out.push({ t: 'reply', id: item.id, v: this.tryApplyConfig(item.config) });
          break;
        case 'unregister': {
          const id = item.id;
          void this.peers.unregisterLines(item.withinMs).then((lines) => this.emit({ t: 'reply', id, v: { shardId: this.init.shardId, lines } }));
          break;
        }
        case 'reshard':
          this.reshard(item.count);
          break;
        case 'import':
          this.stats.dialogsImported += this.importDialogs(item.d);
          break;
        case 'release':
          for (const c of item.c) this.handover.release(c);
          break;
        case 'crash':
          // operator/test hook: die the way a bug would, to exercise replacement of the thread
          setImmediate(() => { throw new Error(`shard ${this.init.shardId} crashed on request`); });
          break;
        default:
      }
    }
  }

  private receiveSip(data: Buffer, source: SendTarget): void {
    this.acked++;
    // isGone costs one size check unless a resize handed Call-IDs away
    if (this.handover.isGone(data)) {
      this.stats.lateRedispatched++;
      // a clone of a view would carry the whole batch's buffer
      this.out.push({ t: 'redispatch', d: ownsBuffer(data) ? data : copyOf(data), s: source });
      return;
    }
    this.core.receive(data, source);
  }

  /**
   * This shard holds state for the Call-ID: a live transaction or a dialog (the main thread's shard
   * beside the workers, whose Call-IDs are placed by load, not by hash: lib/shard/call-placement.ts).
   */
  owns(callId: string): boolean {
    return this.liveCallIds?.has(callId) === true || this.dialogs.hasCallId(callId);
  }

  report(): ShardStatsReport {
    return {
      shardId: this.init.shardId, counters: this.stats.snapshot(), transactions: this.core.transactionCount,
      completed: this.core.completedStats,
      pending: this.core.pendingCount, dialogs: this.dialogs.stats(), timers: this.timers.size, callSetupMs: this.stats.callSetupMs.snapshot(),
      pinned: this.handover.pinnedCount,
    };
  }

  dialogPage(offset: number, limit: number): DialogPage {
    const dialogs = this.dialogs.list(offset, limit).map((d) => ({
      callId: d.callId, state: d.state, callerTag: d.callerTag, calleeTag: d.calleeTag,
      caller: d.callerContact ?? '', callee: d.calleeContact ?? '', createdAt: d.createdAt, confirmedAt: d.confirmedAt ?? null,
    }));
    return { shardId: this.init.shardId, total: this.dialogs.stats().total, dialogs };
  }

  private tryApplyConfig(cfg: Config): ConfigApplied {
    try {
      this.applyConfig(cfg);
      return { shardId: this.init.shardId, ok: true };
    } catch (err) {
      this.log.error({ err }, 'config reload failed on this shard; the previous config stays');
      return { shardId: this.init.shardId, ok: false, error: (err as Error).message };
    }
  }

  applyBinding(u: BindingUpdate): void {
    this.location.replace(u);
  }

  private emit(item: FromShard): void {
    this.out.push(item);
    // sends made while a batch is handled go out with its flush; timers' sends get a turn of their own
    if (!this.batching) this.scheduleFlush();
  }

  private scheduleFlush(): void {
    if (this.flushScheduled) return;
    this.flushScheduled = true;
    setImmediate(this.flushLater);
  }

  private readonly flushLater = (): void => this.flush();

  flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0 && this.acked === 0) return;
    const batch: FromShardBatch = { n: this.acked, out: this.out };
    this.out = [];
    this.acked = 0;
    this.post(batch);
  }

  stop(): void {
    this.peers.stop();
    this.timers.stop();
  }
}

export type { SendTarget };
