// Sums of the proxy's per-shard stats, for tests that look at the whole proxy after a load.
import type { ProxyHandle } from '../../lib/server.js';

export interface ShardTotals {
  early: number;
  confirmed: number;
  transactions: number;
  /** of the transactions, Completed ones kept in the off-heap store (its one expiry timer covers them all) */
  completed: number;
  timers: number;
  internalErrors: number;
  parseErrors: number;
  badRequests: number;
  dropped: number;
  retransmissionsAbsorbed: number;
}

export async function shardTotals(proxy: Pick<ProxyHandle, 'shardStats'>): Promise<ShardTotals> {
  const totals: ShardTotals = { early: 0, confirmed: 0, transactions: 0, completed: 0, timers: 0, internalErrors: 0, parseErrors: 0, badRequests: 0, dropped: 0, retransmissionsAbsorbed: 0 };
  for (const r of await proxy.shardStats()) {
    totals.early += r.dialogs.early;
    totals.confirmed += r.dialogs.confirmed;
    totals.transactions += r.transactions;
    totals.completed += r.completed.records;
    totals.timers += r.timers;
    for (const k of ['internalErrors', 'parseErrors', 'badRequests', 'dropped', 'retransmissionsAbsorbed'] as const) totals[k] += r.counters[k] ?? 0;
  }
  return totals;
}

/** Totals once `settled` holds, or the last ones after `withinMs` (the test then asserts them). */
export async function settledShardTotals(proxy: Pick<ProxyHandle, 'shardStats'>, settled: (s: ShardTotals) => boolean, withinMs = 3000): Promise<ShardTotals> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    const s = await shardTotals(proxy);
    if (settled(s) || Date.now() >= deadline) return s;
    await new Promise((r) => setTimeout(r, 100));
  }
}
