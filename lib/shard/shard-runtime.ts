// Everything one shard runs, built from its ShardInit: proxy core, registrar, dialogs, timers.
// Thread-agnostic: the worker entry wires it to a MessagePort, tests drive it directly.
import { randomBytes } from 'node:crypto';
import { DialogTable } from '../dialog/dialog-table.js';
import { createLogger, type Logger } from '../log.js';
import { StaticRoutes } from '../peers/static-routes.js';
import { LocalIdentity } from '../proxy/local-identity.js';
import { NextHopResolver } from '../proxy/next-hop.js';
import { ProxyCore } from '../proxy/proxy-core.js';
import { ShardStats } from '../proxy/shard-stats.js';
import { DigestAuthenticator } from '../registrar/authenticator.js';
import type { BindingUpdate } from '../registrar/binding.js';
import { LocationStore } from '../registrar/location-store.js';
import { NonceManager } from '../registrar/nonce.js';
import { Registrar } from '../registrar/registrar.js';
import type { SendTarget } from '../transport/types.js';
import { TimerWheel, type Clock, systemClock } from '../txn/timers.js';
import type { FromShard, FromShardBatch, ShardInit, ShardStatsReport, ToShard } from './channel.js';
import { packDialog, unpackDialog } from './dialog-checkpoint.js';

const DIALOG_SWEEP_MS = 60_000;
const DIALOG_MAX_AGE_MS = 12 * 3600_000;

export class ShardRuntime {
  readonly stats = new ShardStats();
  readonly dialogs = new DialogTable();
  readonly location: LocationStore;
  readonly timers: TimerWheel;
  readonly core: ProxyCore;
  readonly log: Logger;
  private out: FromShard[] = [];
  private acked = 0;
  private flushScheduled = false;
  private tagCounter = 0;
  private readonly tagPrefix = randomBytes(4).toString('hex');

  constructor(readonly init: ShardInit, private readonly post: (batch: FromShardBatch) => void, clock: Clock = systemClock, autoTick = true) {
    const cfg = init.config;
    this.log = createLogger(cfg.log.level, { shard: init.shardId });
    this.timers = new TimerWheel(clock, 10, autoTick);
    this.location = init.location.byteLength > 0 ? LocationStore.restore(Buffer.from(init.location)) : new LocationStore();
    const users = new Map(cfg.users.map((u) => [u.username, { password: u.password }]));
    const nonces = new NonceManager({ secret: Buffer.from(init.nonceSecret), ttlSeconds: cfg.auth.nonceTtlSeconds, now: () => clock.now(), notBefore: init.nonceNotBefore });
    const auth = new DigestAuthenticator({ realm: cfg.auth.realm, algorithms: [...cfg.auth.algorithms], nonces, passwordOf: (u) => users.get(u)?.password });
    const now = (): number => clock.now();
    const toTag = (): string => `${this.tagPrefix}${(this.tagCounter++).toString(36)}`;
    const registrar = new Registrar({
      domains: [...cfg.domains], auth: cfg.auth.register ? auth : undefined, users,
      minExpires: cfg.registrar.minExpires, maxExpires: cfg.registrar.maxExpires, defaultExpires: cfg.registrar.defaultExpires,
      maxContacts: cfg.registrar.maxContacts, store: this.location, now, toTag,
    });
    this.core = new ProxyCore({
      shardId: init.shardId,
      identity: new LocalIdentity(init.listeners, cfg.domains),
      domains: cfg.domains,
      options: { recordRoute: cfg.proxy.recordRoute, maxForwards: cfg.proxy.maxForwards, timerCMs: cfg.proxy.timerCSeconds * 1000 },
      txn: { timers: this.timers, times: { t1Ms: cfg.proxy.t1Ms, t2Ms: cfg.proxy.t2Ms, t4Ms: cfg.proxy.t4Ms }, send: (to, data) => this.emit({ t: 'sip', d: data, to }) },
      resolver: new NextHopResolver(),
      dialogs: this.dialogs,
      stats: this.stats,
      registrar,
      location: this.location,
      users,
      routes: new StaticRoutes(cfg.routes),
      inviteAuth: cfg.auth.invite ? auth : undefined,
      log: this.log,
      onBindingUpdate: (u) => { this.stats.registrations++; this.emit({ t: 'bind', u }); },
      onAuthFailure: (source) => { this.stats.authFailures++; this.emit({ t: 'authfail', a: source.address }); },
      toTag,
      now,
    });
    this.restoreDialogs(init.dialogs ?? []);
    this.dialogs.onConfirmedChange = (k, d) => this.emit({ t: 'dlg', k, d: d === undefined ? null : packDialog(d) });
    if (autoTick) {
      setInterval(() => this.dialogs.sweep(clock.now(), DIALOG_MAX_AGE_MS), DIALOG_SWEEP_MS).unref();
    }
  }

  private restoreDialogs(checkpoints: readonly Uint8Array[]): void {
    if (checkpoints.length === 0) return;
    for (const bytes of checkpoints) {
      const d = unpackDialog(bytes);
      if (d !== undefined) this.dialogs.restore(d);
    }
    this.stats.dialogsRestored += this.dialogs.stats().confirmed;
    this.log.warn({ dialogs: this.stats.dialogsRestored, checkpoints: checkpoints.length }, 'confirmed dialogs restored from checkpoints');
  }

  /** One batch from the main thread. */
  handleBatch(items: readonly ToShard[]): void {
    for (const item of items) {
      switch (item.t) {
        case 'sip':
          this.acked++;
          this.core.receive(Buffer.from(item.d.buffer, item.d.byteOffset, item.d.byteLength), item.s);
          break;
        case 'bind':
          this.location.replace(item.u);
          break;
        case 'stats':
          this.out.push({ t: 'stats', id: item.id, v: this.report() });
          break;
        case 'crash':
          // operator/test hook: die the way a bug would, to exercise replacement of the thread
          setImmediate(() => { throw new Error(`shard ${this.init.shardId} crashed on request`); });
          break;
        default:
      }
    }
    this.flush();
  }

  report(): ShardStatsReport {
    return {
      shardId: this.init.shardId, counters: this.stats.snapshot(), transactions: this.core.transactionCount,
      pending: this.core.pendingCount, dialogs: this.dialogs.stats(), timers: this.timers.size,
    };
  }

  applyBinding(u: BindingUpdate): void {
    this.location.replace(u);
  }

  private emit(item: FromShard): void {
    this.out.push(item);
    if (!this.flushScheduled) {
      this.flushScheduled = true;
      setImmediate(() => this.flush());
    }
  }

  flush(): void {
    this.flushScheduled = false;
    if (this.out.length === 0 && this.acked === 0) return;
    const batch: FromShardBatch = { n: this.acked, out: this.out };
    this.out = [];
    this.acked = 0;
    this.post(batch);
  }

  stop(): void {
    this.timers.stop();
  }
}

export type { SendTarget };
