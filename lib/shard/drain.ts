// Graceful stop: wait until no shard has a server transaction without its final response, or the
// deadline. New INVITEs are refused meanwhile by the main thread (503 + Retry-After, server.ts).
// Then the lines take their bindings off their providers.
import type { Logger } from '../log.js';
import type { LineUnregistered } from '../peers/peer-runtime.js';
import type { LinesUnregistered, ShardStatsReport, ToShard } from './channel.js';

const POLL_MS = 100;

/**
 * Resolves with the transactions still pending when it gave up (0: all finished; -1: no round of
 * answers came before the deadline, so nothing is known: shards still starting, or one died).
 */
export async function waitForPending(stats: () => Promise<ShardStatsReport[]>, deadlineMs: number): Promise<number> {
  const deadline = Date.now() + deadlineMs;
  let left = -1;
  for (;;) {
    // a shard dying meanwhile never answers this round: the deadline bounds the wait all the same
    let timer: ReturnType<typeof setTimeout> | undefined;
    const late = new Promise<undefined>((r) => { timer = setTimeout(() => r(undefined), Math.max(1, deadline - Date.now())); });
    const reports = await Promise.race([stats(), late]);
    clearTimeout(timer);
    if (reports !== undefined) left = pendingOf(reports);
    if (left === 0 || Date.now() >= deadline) return left;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(1, deadline - Date.now()))));
  }
}

function pendingOf(reports: readonly ShardStatsReport[]): number {
  let n = 0;
  for (const r of reports) n += r.pending;
  return n;
}

/** How long shutdown waits for providers to answer the lines' Expires: 0 REGISTERs (one challenge round). */
export const UNREGISTER_WITHIN_MS = 4_000;

type Ask = <T>(make: (id: number) => ToShard) => Promise<T[]>;

/** Shutdown, after the drain: every shard removes the bindings of the lines it registers. Never throws. */
export async function unregisterLines(ask: Ask, log: Logger, withinMs = UNREGISTER_WITHIN_MS): Promise<LineUnregistered[]> {
  try {
    const answers = await ask<LinesUnregistered>((id) => ({ t: 'unregister', id, withinMs }));
    const lines = answers.flatMap((a) => a.lines);
    if (lines.length > 0) log.info({ lines }, 'lines unregistered at shutdown');
    return lines;
  } catch (err) {
    log.warn({ err }, 'lines not unregistered at shutdown: a shard did not answer');
    return [];
  }
}
