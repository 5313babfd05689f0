// Graceful stop: wait until no shard has a server transaction without its final response, or the
// deadline. New INVITEs are refused meanwhile by the main thread (503 + Retry-After, server.ts).
import type { ShardStatsReport } from './channel.js';

const POLL_MS = 100;

/** Resolves with the transactions still pending when it gave up (0: all finished). */
export async function waitForPending(stats: () => Promise<ShardStatsReport[]>, deadlineMs: number): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let left = 0;
  for (;;) {
    // a shard dying meanwhile never answers this round: the deadline bounds the wait all the same
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), Math.max(1, deadline - Date.now())); });
    const reports = await Promise.race([stats(), late]);
    clearTimeout(timer);
    if (reports !== undefined) left = pendingOf(reports);
    if (left === 0 && reports !== undefined || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
  }
}

function pendingOf(reports: readonly ShardStatsReport[]): number {
  let n = 0;
  for (const r of reports) n += r.pending;
  return n;
}
