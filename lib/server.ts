// The main thread: sockets, Call-ID peek and shard choice, the shard pool, the location replica.
// It never fully parses a message on the normal path.
import { randomBytes } from 'node:crypto';
import type { Config } from './config/schema.js';
import { assertLiveReloadable } from './config/live-reload.js';
import { resolveWorkerCount } from './config/load-config.js';
import { createError } from './errors.js';
import type { Logger } from './log.js';
import { PeerStateTable, type PeerState } from './peers/peer-state.js';
import { Rel100Memory } from './peers/rel100-memory.js';
import type { Rel100Learned } from './policy/rel100.js';
import { TrunkCalls } from './peers/trunk-calls.js';
import { BindingFanout } from './registrar/binding-fanout.js';
import { PersistentLocation } from './registrar/location-persistence.js';
import { ChallengeAnswerCheck } from './registrar/challenge-answer.js';
import { createStatelessChallenger } from './registrar/stateless-challenge.js';
import { SourceGuard, type SourceGuardOptions } from './security/source-guard.js';
import { peekCallId } from './shard/callid-peek.js';
import type { ConfigApplied, FromShardBatch, ShardStatsReport, ToShard } from './shard/channel.js';
import { DialogCheckpoints } from './shard/dialog-checkpoint.js';
import { unregisterLines, waitForPending } from './shard/drain.js';
import { callIdHash, jumpHash } from './shard/hash.js';
import { CallPlacement, type PlacementOptions } from './shard/call-placement.js';
import { MAIN_SHARD_ID } from './config/limits.js';
import { isAckOfRefusal, isInitialInvite, isInvite, isNewWork, overloadResponse } from './shard/overload.js';
import { RecentInvites } from './shard/recent-invites.js';
import { OverloadControl, OverloadSampler } from './shard/overload-control.js';
import { ShardPool } from './shard/shard-pool.js';
import { warmUpMainPath } from './shard/main-warm-up.js';
import { ShardRequests } from './shard/shard-requests.js';
import { Resizer, type ResizeReport, type ResizeStats } from './shard/resizer.js';
import { loadTlsSettings, type TlsSettings } from './transport/tls-listener.js';
import { TransportManager } from './transport/transport-manager.js';
import { SourceTargets } from './transport/source-targets.js';
import { udpRxQueueSource } from './transport/udp-rx-queue.js';
import { bindingUpdateFromWire, bindingUpdateToWire } from './registrar/binding-wire.js';
import type { InboundMessage, ListenerConfig, SendTarget } from './transport/types.js';

export interface MainStats {
  noCallId: number;
  overload503: number;
  overloadDropped: number;
  shardRestarts: number;
  /** overload503 and overloadDropped split by the shard that was full */
  overload503ByShard: number[];
  overloadDroppedByShard: number[];
  /** new INVITEs refused with 503 while shutting down */
  draining503: number;
  /** REGISTERs without credentials answered 401 here, with no shard (registrar.statelessChallenge) */
  registerChallenged: number;
}

export interface ProxyHandle {
  readonly listeners: ListenerConfig[];
  readonly pool: ShardPool;
  readonly transports: TransportManager;
  readonly location: PersistentLocation;
  readonly mainStats: MainStats;
  /** whole-proxy overload control: shedding state and what it refused (lib/shard/overload-control.ts) */
  readonly overload: OverloadControl;
  /** `shard.placement: load` with workers: the main thread's share of new Call-IDs and the counts placed */
  readonly placement: CallPlacement | undefined;
  /** registration state of each line, up/down of each trunk, as their owning shards report them */
  peerStates(): PeerState[];
  /** peers in 100rel `auto` mode switched to disable (persisted), and the operator's reset of one */
  rel100Learned(): Rel100Learned[];
  resetRel100(peer: string): boolean;
  /** the running config (replaced by a successful reload) */
  readonly config: Config;
  readonly tls: TlsSettings;
  readonly startedAt: number;
  /** per-source rate limits, bans and auth back-off (counters in guard.stats) */
  readonly guard: SourceGuard;
  shardStats(): Promise<ShardStatsReport[]>;
  /** Ask shards (default: all) a question of the channel; answers in arrival order. */
  askShards<T>(make: (id: number) => ToShard, shards?: readonly number[]): Promise<T[]>;
  /** Swap to a validated config on every shard; rejects (SIP_ERR_CONFIG) keeping the old one. A
   *  changed `workers` resizes the shard set (SIP_ERR_RESIZE_BUSY while another resize settles). */
  reload(next: Config): Promise<void>;
  /** Change the worker count while traffic flows (lib/shard/resizer.ts); rejects with
   *  SIP_ERR_RESIZE_COUNT (not 1..MAX_WORKERS) or SIP_ERR_RESIZE_BUSY (another resize runs or settles). */
  resize(count: number): Promise<ResizeReport>;
  /** resizes done, dialogs moved, Call-IDs pinned to an old shard now */
  resizeStats(): ResizeStats;
  /** Graceful stop: refuse new INVITEs (503 + Retry-After), let open transactions finish up to
   *  `deadlineMs` (default shard.drainSeconds), then close. Resolves with the transactions cut off (-1: unknown, no shard answered before the deadline). */
  shutdown(deadlineMs?: number): Promise<number>;
  close(): Promise<void>;
}

/** `shard.placement: load`: the main thread's target, and how long a Call-ID sent to a worker stays theirs. */
function placementOptions(config: Config): PlacementOptions {
  // an INVITE's CANCEL may come until Timer C, its retransmissions and the ACK of a non-2xx 64*T1
  // after its final response; and a margin for a late message
  const holdMs = config.proxy.timerCSeconds * 1000 + 64 * config.proxy.t1Ms + 5000;
  return { busyTarget: config.shard.mainThreadBusy, holdMs, sampleMs: config.overload.sampleMs };
}

/** The source guard's limits from `security.*` (at start and on a reload). */
function guardOptions(sec: Config['security']): Omit<SourceGuardOptions, 'now' | 'onBan'> {
  return {
    windowMs: sec.rateWindowMs, maxPerWindow: sec.ratePerWindow, banMs: sec.banSeconds * 1000,
    maxAuthFailures: sec.maxAuthFailures, authWindowMs: sec.authWindowSeconds * 1000, authBanMs: sec.authBanSeconds * 1000,
    maxHeaders: sec.maxHeaders, exempt: sec.exempt,
  };
}

export async function startProxy(config: Config, log: Logger): Promise<ProxyHandle> {
  const workers = resolveWorkerCount(config);
  /** Call-IDs hash into this many shards; a resize changes it (every later shard init reads it).
   *  `workers: 0` is one shard, on the main thread */
  let shardCount = Math.max(1, workers);
  const location = new PersistentLocation(config.registrar.storePath, log, config.registrar.fsync);
  const guard = new SourceGuard({
    ...guardOptions(config.security),
    onBan: (address, reason, until) => log.warn({ address, reason, until: new Date(until).toISOString() }, reason === 'rate' ? 'source over the rate limit: banned' : 'source failing authentication: banned'),
  });
  const tls = await loadTlsSettings(config.tls, config.listen, log);
  const transports = new TransportManager({ listeners: config.listen.map((l) => ({ ...l })), limits: config.transport, logger: log, tls });
  transports.admitConnection = (address) => guard.admitConnection(address);
  await transports.start();
  // bound ports (0 in config = ephemeral) plus what each listener advertises in Via/Record-Route
  const listeners = transports.boundListeners().map((b) => {
    const c = config.listen.find((l) => l.transport === b.transport && l.address === b.address && (l.port === b.port || l.port === 0));
    return c?.advertise === undefined ? b : { ...b, advertise: c.advertise };
  });
  const nonceSecret = randomBytes(32);
  const mainStats: MainStats = {
    noCallId: 0, overload503: 0, overloadDropped: 0, shardRestarts: 0, draining503: 0, registerChallenged: 0,
    overload503ByShard: new Array<number>(shardCount).fill(0), overloadDroppedByShard: new Array<number>(shardCount).fill(0),
  };
  let current = config;
  let draining = false;
  const checkpoints = new DialogCheckpoints();
  const peerStates = new PeerStateTable();
  const rel100 = new Rel100Memory(location.journal, location.restored.get('rel100'));
  // sized for every shard id once (SHARD_SLOTS), so a change of worker count keeps every count in place
  const trunkCalls = new SharedArrayBuffer(TrunkCalls.bytesFor(config.trunks.length));

  // plain refreshes reach the other shards only before their copy would expire (binding-fanout.ts)
  const fanout = new BindingFanout();
  const fanoutTimer = setInterval(() => {
    for (const u of fanout.due(Date.now())) pool.broadcast({ t: 'bind', u: bindingUpdateToWire(u) });
  }, 1000).unref();
  const journal = location.journal;
  const onBatch = (shardId: number, batch: FromShardBatch): void => {
    // a batch's bindings (and learned peer state) go to the journal in one write, before the first
    // of its sends (its control items come first: packSipAfterControl)
    journal?.hold();
    try {
      handleBatch(shardId, batch);
    } finally {
      journal?.flush();
    }
  };
  const handleBatch = (shardId: number, batch: FromShardBatch): void => {
    for (const item of batch.out) {
      if (item.t === 'sipb') {
        journal?.flush();
        transports.sendPacked(item);
      } else if (item.t === 'sip') {
        journal?.flush();
        transports.send(item.to, Buffer.from(item.d.buffer, item.d.byteOffset, item.d.byteLength));
      } else if (item.t === 'bind') {
        const update = bindingUpdateFromWire(item.u, location.store.stored(item.u.aor));
        const d = fanout.accept(update, Date.now());
        location.apply(d.update);
        // an update passed on unrepaired goes out as it came
        if (d.send) pool.broadcast({ t: 'bind', u: d.update === update ? item.u : bindingUpdateToWire(d.update) }, d.toSender ? -1 : shardId);
      } else if (item.t === 'peer') {
        peerStates.apply(item.s);
        pool.broadcast({ t: 'peer', s: item.s }, shardId);
      } else if (item.t === 'rel100') {
        if (rel100.learn(item.l)) pool.broadcast({ t: 'rel100', p: item.l.peer, l: item.l }, shardId);
      } else if (item.t === 'dlg') {
        checkpoints.apply(shardId, item.k, item.d);
      } else if (item.t === 'authfail') {
        guard.authFailed(item.a);
      } else if (item.t === 'redispatch') {
        resizer.onRedispatch(shardId, item.d, item.s);
      } else if (item.t === 'unpin') {
        resizer.onUnpin(shardId, item.c, item.d);
      } else if (item.t === 'resharded') {
        resizer.onAnswer(item.v);
      } else {
        requests.answer(item.id, item.v);
      }
    }
  };

  const pool = new ShardPool({
    workers,
    mainShard: workers > 0 && config.shard.placement === 'load',
    batchMax: config.shard.batchMax,
    postsInFlight: config.shard.postsInFlight,
    youngGenerationMb: config.shard.youngGenerationMb,
    log,
    onBatch,
    onRetiredLost: (shardId) => resizer.onRetiredLost(shardId),
    // a replacement shard starts from the current bindings, peer states and its predecessor's
    // confirmed dialogs
    init: (shardId) => ({
      shardId, shardCount, config: current, listeners, nonceSecret, location: location.store.snapshot(),
      trunkCalls, peerStates: peerStates.snapshot(), rel100: rel100.list(), dialogs: checkpoints.forShard(shardId), nonceNotBefore: Date.now(),
    }),
  });
  // questions go to the main thread's shard beside the workers too (stats, config, dialogs)
  const requests = new ShardRequests({ liveIds: () => pool.shardIds(), dispatch: (id, item) => pool.dispatch(id, item) });
  /** The stats report of each shard in `shards` (default: every shard there is to ask), in arrival order. */
  const askStats = (shards?: readonly number[]): Promise<ShardStatsReport[]> => requests.ask<ShardStatsReport>((id) => ({ t: 'stats', id }), shards);
  const placement = pool.hasMainShard ? new CallPlacement(placementOptions(config)) : undefined;
  // a worker answers once its warm-up is over: only then may new calls go there
  if (placement !== undefined) {
    const ready = (): void => { placement.workersReady = true; };
    askStats(pool.liveIds()).then(ready, ready);
  }

  let { maxInFlight, retryAfterSeconds } = config.shard;
  const sources = new SourceTargets();
  const overload = new OverloadControl(config.overload);
  let received = 0; // SIP messages past the source guard: the traffic the utilization is charged to
  const rxQueue = udpRxQueueSource(listeners.filter((l) => l.transport === 'udp'), () => transports.udpFds());
  const sampler = new OverloadSampler(overload, () => pool.takeBacklogPeak(), () => received, () => rxQueue.read(), (shedding, s) => {
    const sample = { elu: Math.round(s.elu * 100) / 100, backlog: s.backlog, messagesPerSecond: Math.round(s.rate), rxQueueBytes: s.rxQueue };
    if (shedding) log.warn(sample, 'overloaded: new requests get 503 (overload.*)');
    else log.info({ ...sample, shed503: overload.stats.shed503, shedDropped: overload.stats.shedDropped, admittedAnswers: overload.stats.admittedAnswers }, 'overload over: new requests accepted again');
  });
  if (placement !== undefined) sampler.sampled = (s) => placement.adjust(s.elu);
  sampler.start(config.overload.sampleMs);
  /** until when an ACK may answer one of our stateless 503s (Timer H: 64*T1 after the last) */
  let refusalAcksUntil = 0;
  const replyTo = (msg: InboundMessage, res: Buffer): void => {
    refusalAcksUntil = Date.now() + 64 * current.proxy.t1Ms;
    transports.send({ transport: msg.transport, address: msg.remoteAddress, port: msg.remotePort, connId: msg.connId }, res);
  };

  // the 401 to a REGISTER's first, credential-less attempt (lib/registrar/stateless-challenge.ts)
  let challenger = createStatelessChallenger(config, listeners, nonceSecret);
  let challengeAnswers = new ChallengeAnswerCheck(nonceSecret, config.auth.nonceTtlSeconds);
  // before the first datagram is read (it waits in the socket buffer meanwhile): cold code is what
  // a proxy restarted under full load would otherwise meet
  const warm = warmUpMainPath({ domain: config.domains[0] ?? '127.0.0.1', challenger });
  log.debug(warm, 'main thread per-message code warmed up');

  // INVITEs handed to shards within Timer B (64*T1): their retransmissions are not new work
  const recentInvites = new RecentInvites(64 * config.proxy.t1Ms);
  const isRetransmittedInvite = (data: Buffer): boolean => isInvite(data) && recentInvites.has(callIdHash(peekCallId(data) ?? ''));

  /** Overloaded: a new request gets a stateless 503 while the budget lasts, else it is dropped and counted. */
  const shed = (msg: InboundMessage): void => {
    const res = overload.take503() ? overloadResponse(msg.data, retryAfterSeconds) : undefined;
    if (res === undefined) { overload.stats.shedDropped++; return; }
    overload.stats.shed503++;
    replyTo(msg, res);
  };

  transports.onMessage = (msg: InboundMessage): void => {
    // flood protection first: a banned or flooding source costs one Map lookup, nothing more
    if (!guard.admit(msg.remoteAddress) || guard.tooManyHeaders(msg.data)) return;
    received++;
    if (draining && isInitialInvite(msg.data)) {
      const res = overloadResponse(msg.data, retryAfterSeconds);
      if (res !== undefined) mainStats.draining503++;
      if (res !== undefined) replyTo(msg, res);
      return;
    }
    // before the Call-ID peek and the shard hop: refusing new work must cost less than doing it
    if (overload.shedding && isNewWork(msg.data) && !isRetransmittedInvite(msg.data)) {
      // the answer to our challenge is the second half of work under way: refusing it wastes the first
      if (!challengeAnswers.answersOurChallenge(msg.data)) { shed(msg); return; }
      overload.stats.admittedAnswers++;
    }
    // no shard knows our stateless 503s: their ACKs end here (the To header is peeked only for an ACK
    // while one may still come)
    if (refusalAcksUntil !== 0 && msg.data[0] === 0x41 && Date.now() < refusalAcksUntil && isAckOfRefusal(msg.data)) return;
    if (challenger !== undefined && msg.data[0] === 0x52) { // 'R': only a REGISTER is looked at
      const from: SendTarget = { transport: msg.transport, address: msg.remoteAddress, port: msg.remotePort, connId: msg.connId };
      const res = challenger.challenge(msg.data, from);
      if (res !== undefined) { mainStats.registerChallenged++; transports.send(from, res); return; }
    }
    route(msg);
  };

  /** Shard choice and overload control; also for messages held during a resize or handed back. */
  const route = (msg: InboundMessage): void => {
    if (resizer.holding) { resizer.hold(msg); return; }
    const callId = peekCallId(msg.data);
    if (callId === undefined) mainStats.noCallId++; // the shard answers 400 or drops it
    const hash = callIdHash(callId ?? '');
    if (placement !== undefined && callId !== undefined && onMainShard(msg.data, callId, hash)) {
      if (isInvite(msg.data)) recentInvites.add(hash);
      pool.dispatchSip(MAIN_SHARD_ID, msg.data, sources.of(msg.transport, msg.remoteAddress, msg.remotePort, msg.connId));
      return;
    }
    let shard = jumpHash(hash, pool.size); // shardFor, with the hash kept for recentInvites
    // only while a resize settles: Call-IDs with live transactions stay on their old shard
    if (resizer.pinning && callId !== undefined) shard = resizer.pinOf(callId) ?? shard;
    const inFlight = pool.inFlight(shard);
    if (inFlight >= maxInFlight) {
      if (isInitialInvite(msg.data)) {
        const res = overloadResponse(msg.data, retryAfterSeconds);
        if (res !== undefined) {
          mainStats.overload503++;
          mainStats.overload503ByShard[shard]!++;
          replyTo(msg, res);
          return;
        }
      }
      // in-dialog traffic and responses still go through, up to twice the bound
      if (inFlight >= 2 * maxInFlight) { mainStats.overloadDropped++; mainStats.overloadDroppedByShard[shard]!++; return; }
    }
    if (isInvite(msg.data)) recentInvites.add(hash);
    pool.dispatchSip(shard, msg.data, sources.of(msg.transport, msg.remoteAddress, msg.remotePort, msg.connId));
  };

  /**
   * `shard.placement: load`: the main thread's shard has the Call-ID's state, or the message starts
   * new work (no To tag; not an ACK or CANCEL, which follow their INVITE) and the load places it there.
   */
  const onMainShard = (data: Buffer, callId: string, hash: number): boolean => {
    if (pool.mainShardOwns(callId)) return true;
    return isNewWork(data) && placement!.placeOnMain(hash, Date.now());
  };

  const resizer: Resizer<InboundMessage> = new Resizer<InboundMessage>({
    pool,
    checkpoints,
    log,
    countChanged: (count) => {
      shardCount = count;
      // per-shard figures keep a slot for every id ever used (retiring shards included)
      while (mainStats.overload503ByShard.length < count) mainStats.overload503ByShard.push(0);
      while (mainStats.overloadDroppedByShard.length < count) mainStats.overloadDroppedByShard.push(0);
    },
    route: (msg) => route(msg),
    ready: askStats,
    fromShard: (d, s) => ({
      data: Buffer.from(d.buffer, d.byteOffset, d.byteLength), transport: s.transport, remoteAddress: s.address, remotePort: s.port,
      localAddress: '', localPort: 0, connId: s.connId ?? 0,
    }),
    // Timer L / J of the transactions that pin a Call-ID, plus a margin for the last messages
    pinDeadlineMs: () => 64 * current.proxy.t1Ms + 4000,
  });

  log.info({ workers, listeners, tlsCertificate: tls.fingerprint || undefined, udpBatchSend: transports.batchSending, udpBatchReceive: transports.batchReceiving, udpRxQueueVia: rxQueue.via }, 'proxy started');

  const askShards = <T>(make: (id: number) => ToShard, shards?: readonly number[]): Promise<T[]> => requests.ask<T>(make, shards);
  const sendConfig = async (cfg: Config): Promise<ConfigApplied[]> => askShards<ConfigApplied>((id) => ({ t: 'config', id, config: cfg }));

  const shardStats = async (): Promise<ShardStatsReport[]> => {
    mainStats.shardRestarts = pool.restarts;
    const reports = await askStats();
    return reports.sort((a, b) => a.shardId - b.shardId);
  };
  // the drain's count of open transactions: until a start's workers have answered once (their
  // warm-up), placement: load keeps new work on the main thread's shard, so that shard is asked
  // alone; a worker still warming up would not answer within a short drain at all
  const drainStats = (): Promise<ShardStatsReport[]> =>
    placement !== undefined && !placement.workersReady ? askStats([MAIN_SHARD_ID]) : shardStats();
  const close = async (): Promise<void> => {
    sampler.stop();
    resizer.stop();
    clearInterval(fanoutTimer);
    await transports.close();
    await pool.close();
    location.close();
  };

  return {
    listeners,
    pool,
    transports,
    location,
    mainStats,
    overload,
    placement,
    peerStates: () => peerStates.snapshot(),
    rel100Learned: () => rel100.list(),
    resetRel100(peer: string): boolean {
      if (!rel100.reset(peer)) return false;
      pool.broadcast({ t: 'rel100', p: peer, l: null });
      log.info({ peer }, '100rel learned disable reset by the operator');
      return true;
    },
    tls,
    startedAt: Date.now(),
    get config(): Config {
      return current;
    },
    guard,
    shardStats,
    askShards,
    async reload(next: Config): Promise<void> {
      assertLiveReloadable(current, next);
      const count = resolveWorkerCount(next); // `auto` resolves as at start
      // worker threads, not shards: `workers: 0` runs one shard without a thread
      const resize = count !== pool.workerThreads;
      if (resize) resizer.check(count);
      const applied = await sendConfig(next);
      const failed = applied.filter((a) => !a.ok);
      if (failed.length > 0) {
        await sendConfig(current); // put every shard back on the running config
        throw createError('SIP_ERR_CONFIG', `reload refused: ${failed.map((f) => `shard ${f.shardId}: ${f.error ?? 'failed'}`).join('; ')}`);
      }
      const previous = current;
      current = next; // shards a resize starts get the new config
      if (resize) {
        try {
          await resizer.resize(count);
        } catch (err) {
          current = previous;
          await sendConfig(previous); // an admin resize started in between: the reload is refused whole
          throw err;
        }
      }
      ({ maxInFlight, retryAfterSeconds } = next.shard);
      overload.configure(next.overload);
      placement?.configure(placementOptions(next));
      challenger = createStatelessChallenger(next, listeners, nonceSecret);
      challengeAnswers = new ChallengeAnswerCheck(nonceSecret, next.auth.nonceTtlSeconds);
      guard.configure(guardOptions(next.security));
      sampler.start(next.overload.sampleMs);
      log.level = next.log.level;
      log.info('config reloaded');
    },
    resize: (count: number) => resizer.resize(count),
    resizeStats: () => ({ ...resizer.stats }),
    async shutdown(deadlineMs = current.shard.drainSeconds * 1000): Promise<number> {
      draining = true;
      const started = Date.now();
      log.info({ deadlineMs }, 'draining: new calls get 503, open transactions may finish');
      const left = await waitForPending(drainStats, deadlineMs);
      log[left === 0 ? 'info' : 'warn']({ pendingLeft: left < 0 ? 'unknown: no shard answer in time' : left, ms: Date.now() - started }, left === 0 ? 'drained' : 'drain deadline reached');
      await unregisterLines(askShards, log);
      await close();
      log.info({ ...location.store.size() }, 'state flushed, proxy stopped');
      return left;
    },
    close,
  };
}
