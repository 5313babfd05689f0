// What the admin API reports about the running proxy: totals and per-shard figures gathered from
// the shards (one stats round trip), rates from a once-a-second sampler, dialog pages across
// shards and registrations from the main thread's location replica.
import type { OverloadStats } from '../lib/shard/overload-control.js';
import type { ProxyHandle } from '../lib/server.js';
import type { DialogInfo, DialogPage, ShardStatsReport } from '../lib/shard/channel.js';
import { CALL_SETUP_BOUNDS_MS, mergeHistograms, type HistogramSnapshot } from '../lib/metrics/histogram.js';
import { MAIN_SHARD_ID } from '../lib/config/limits.js';

const RATE_WINDOW_SAMPLES = 11; // 10 s of 1 s samples

interface RateSample { at: number; calls: number[] }

/** Calls per second, total and per shard, over the last ten seconds. Off the hot path: 1 round trip/s. */
export class RateSampler {
  private samples: RateSample[] = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly proxy: ProxyHandle, private readonly intervalMs = 1000) {}

  start(): void {
    const tick = (): void => {
      this.proxy.shardStats().then((reports) => this.add(Date.now(), reports), () => undefined);
    };
    tick();
    this.timer = setInterval(tick, this.intervalMs);
    this.timer.unref();
  }

  stop(): void {
    clearInterval(this.timer);
  }

  add(at: number, reports: readonly ShardStatsReport[]): void {
    const calls: number[] = [];
    for (const r of reports) calls[r.shardId] = r.counters.callsAttempted ?? 0;
    this.samples.push({ at, calls });
    if (this.samples.length > RATE_WINDOW_SAMPLES) this.samples.shift();
  }

  /** calls/s per shard id; a shard whose counters restarted (replaced thread) counts from 0. */
  rates(): number[] {
    const first = this.samples[0];
    const last = this.samples[this.samples.length - 1];
    if (first === undefined || last === undefined || last.at <= first.at) return [];
    const seconds = (last.at - first.at) / 1000;
    return last.calls.map((n, i) => round2(Math.max(0, n - (first.calls[i] ?? 0)) / seconds));
  }
}

const round2 = (n: number): number => Math.round(n * 100) / 100;

export interface ShardView {
  shardId: number;
  /** where it runs: 'main' (workers: 0, or the main thread's shard of shard.placement: load) or 'worker' */
  thread: 'main' | 'worker';
  inFlight: number;
  callsPerSecond: number;
  overload503: number;
  overloadDropped: number;
  transactions: number;
  dialogs: { early: number; confirmed: number; total: number };
  timers: number;
  /** Call-IDs kept on this shard after a change of worker count until their transactions end */
  pinned: number;
  counters: Record<string, number>;
}

export interface StatsView {
  time: string;
  uptimeSeconds: number;
  total: Omit<ShardView, 'shardId' | 'thread'> & { shards: number; callSetup: SetupSummary };
  shards: ShardView[];
  main: {
    noCallId: number; shardRestarts: number; workers: number; resizes: number; dialogsMoved: number; pinned: number;
    /** REGISTERs answered 401 on the main thread (registrar.statelessChallenge) */
    registerChallenged: number;
    /** whole-proxy overload control (lib/shard/overload-control.ts) */
    overload: OverloadStats & { shedding: boolean };
    /** batches the main thread posted to shards, their SIP messages, holds ended by the 2 ms limit (lib/shard/shard-outbox.ts) */
    handOver: { batches: number; messages: number; holdsExpired: number };
  };
  transport: ReturnType<ProxyHandle['transports']['stats']>;
  registrations: { aors: number; bindings: number };
}

export interface SetupSummary { count: number; meanMs: number | null; p50Ms: number | null; p90Ms: number | null; p99Ms: number | null }

/** Upper bound of the bucket holding quantile q (what a histogram can say honestly). */
function quantileBound(h: HistogramSnapshot, q: number): number | null {
  if (h.count === 0) return null;
  const rank = q * h.count;
  let seen = 0;
  for (let i = 0; i < h.counts.length; i++) {
    seen += h.counts[i]!;
    if (seen >= rank) return h.bounds[i] ?? Infinity;
  }
  return null;
}

export function setupSummary(h: HistogramSnapshot): SetupSummary {
  return {
    count: h.count,
    meanMs: h.count === 0 ? null : round2(h.sum / h.count),
    p50Ms: quantileBound(h, 0.5),
    p90Ms: quantileBound(h, 0.9),
    p99Ms: quantileBound(h, 0.99),
  };
}

export function mergedSetup(reports: readonly ShardStatsReport[]): HistogramSnapshot {
  return mergeHistograms(reports.map((r) => r.callSetupMs), CALL_SETUP_BOUNDS_MS);
}

function sumCounters(reports: readonly ShardStatsReport[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const r of reports) for (const [k, v] of Object.entries(r.counters)) out[k] = (out[k] ?? 0) + v;
  return out;
}

export function buildStats(proxy: ProxyHandle, reports: readonly ShardStatsReport[], rates: readonly number[]): StatsView {
  const { mainStats } = proxy;
  const onMain = proxy.pool.workerThreads === 0;
  const shards: ShardView[] = reports.map((r) => ({
    shardId: r.shardId,
    thread: onMain || r.shardId === MAIN_SHARD_ID ? 'main' : 'worker',
    inFlight: proxy.pool.inFlight(r.shardId),
    callsPerSecond: rates[r.shardId] ?? 0,
    overload503: mainStats.overload503ByShard[r.shardId] ?? 0,
    overloadDropped: mainStats.overloadDroppedByShard[r.shardId] ?? 0,
    transactions: r.transactions,
    dialogs: r.dialogs,
    timers: r.timers,
    pinned: r.pinned,
    counters: r.counters,
  }));
  const add = (f: (s: ShardView) => number): number => shards.reduce((n, s) => n + f(s), 0);
  return {
    time: new Date().toISOString(),
    uptimeSeconds: Math.round((Date.now() - proxy.startedAt) / 1000),
    total: {
      shards: shards.length,
      inFlight: add((s) => s.inFlight),
      callsPerSecond: round2(add((s) => s.callsPerSecond)),
      overload503: mainStats.overload503,
      overloadDropped: mainStats.overloadDropped,
      transactions: add((s) => s.transactions),
      dialogs: { early: add((s) => s.dialogs.early), confirmed: add((s) => s.dialogs.confirmed), total: add((s) => s.dialogs.total) },
      timers: add((s) => s.timers),
      pinned: add((s) => s.pinned),
      counters: sumCounters(reports),
      callSetup: setupSummary(mergedSetup(reports)),
    },
    shards,
    main: {
      noCallId: mainStats.noCallId, registerChallenged: mainStats.registerChallenged, shardRestarts: proxy.pool.restarts, workers: proxy.pool.workerThreads, ...resizeFigures(proxy),
      overload: { shedding: proxy.overload.shedding, ...proxy.overload.stats },
      handOver: { ...proxy.pool.handOver },
    },
    transport: proxy.transports.stats(),
    registrations: proxy.location.store.size(),
  };
}

function resizeFigures(proxy: ProxyHandle): { resizes: number; dialogsMoved: number; pinned: number } {
  const r = proxy.resizeStats();
  return { resizes: r.resizes, dialogsMoved: r.dialogsMoved, pinned: r.pinned };
}

export interface Page<T> { total: number; offset: number; limit: number; items: T[] }

/** Dialogs numbered across shards in shard order; two round trips (counts, then the slices). */
export async function dialogPage(proxy: ProxyHandle, offset: number, limit: number): Promise<Page<DialogInfo & { shardId: number }>> {
  const counts = (await proxy.askShards<DialogPage>((id) => ({ t: 'dialogs', id, offset: 0, limit: 0 }))).sort((a, b) => a.shardId - b.shardId);
  const total = counts.reduce((n, c) => n + c.total, 0);
  const wanted: Array<{ shardId: number; offset: number; limit: number }> = [];
  let start = 0;
  for (const c of counts) {
    const from = Math.max(offset, start);
    const to = Math.min(offset + limit, start + c.total);
    if (to > from) wanted.push({ shardId: c.shardId, offset: from - start, limit: to - from });
    start += c.total;
  }
  const pages = await Promise.all(wanted.map((w) => proxy.askShards<DialogPage>((id) => ({ t: 'dialogs', id, offset: w.offset, limit: w.limit }), [w.shardId])));
  const items = pages.flat().sort((a, b) => a.shardId - b.shardId).flatMap((p) => p.dialogs.map((d) => ({ shardId: p.shardId, ...d })));
  return { total, offset, limit, items };
}

export interface RegistrationView {
  aor: string;
  contact: string;
  expiresInSeconds: number;
  q: number;
  source: string;
  userAgent: string | null;
}

/** Bindings of the location replica, AORs in alphabetical order. */
export function registrationPage(proxy: ProxyHandle, offset: number, limit: number, now = Date.now()): Page<RegistrationView> {
  const store = proxy.location.store;
  const rows: RegistrationView[] = [];
  for (const aor of [...store.aors()].sort()) {
    for (const b of store.lookup(aor, now)) {
      rows.push({
        aor,
        contact: b.contact,
        expiresInSeconds: Math.max(0, Math.round((b.expiresAt - now) / 1000)),
        q: b.q,
        source: `${b.source.transport}:${b.source.address}:${b.source.port}`,
        userAgent: b.userAgent ?? null,
      });
    }
  }
  return { total: rows.length, offset, limit, items: rows.slice(offset, offset + limit) };
}
