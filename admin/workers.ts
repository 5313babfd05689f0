// /api/workers: the shards (retiring ones of a change of worker count too), their in-flight
// messages, resize figures; PUT/POST `{ "count": N }` changes the worker count while calls flow.
import { isSipProxyError } from '../lib/errors.js';
import { MAIN_SHARD_ID, MAX_WORKERS } from '../lib/config/limits.js';
import type { ProxyHandle } from '../lib/server.js';
import type { ResizeReport } from '../lib/shard/resizer.js';
import { adminError, AdminError } from './errors.js';

export function workersView(proxy: ProxyHandle): unknown {
  const { pool } = proxy;
  const retiring = new Set(pool.retiringIds());
  const r = proxy.resizeStats();
  return {
    count: pool.workerThreads,
    /** workers: 0, the one shard on the main thread (its batches that threw: inlineErrors) */
    shardOnMainThread: pool.workerThreads === 0,
    inlineErrors: pool.inlineErrors,
    max: MAX_WORKERS,
    restarts: pool.restarts,
    maxInFlight: proxy.config.shard.maxInFlight,
    /** how new Call-IDs find a shard (shard.placement; 'hash' whatever the config with workers: 0) */
    placement: pool.hasMainShard ? 'load' : 'hash',
    /** the worker shards (with workers: 0, the one shard on the main thread) */
    shards: pool.liveIds().map((shardId) => ({ shardId, inFlight: pool.inFlight(shardId), retiring: retiring.has(shardId) })),
    /** placement: load, the main thread's shard beside the workers; null without it */
    mainShard: pool.hasMainShard ? { shardId: MAIN_SHARD_ID, inFlight: pool.inFlight(MAIN_SHARD_ID) } : null,
    resizes: r.resizes,
    dialogsMoved: r.dialogsMoved,
    pinned: r.pinned,
    lastResize: r.last,
  };
}

/** The body `{ "count": N }`: N an integer in 1..MAX_WORKERS. */
function countOf(text: string): number {
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    throw adminError('ADMIN_ERR_BAD_REQUEST', 'body must be JSON: {"count": N}');
  }
  const count = (body as { count?: unknown } | null)?.count;
  if (typeof count !== 'number' || !Number.isInteger(count) || count < 1 || count > MAX_WORKERS) {
    throw adminError('ADMIN_ERR_BAD_REQUEST', `count: got ${JSON.stringify(count ?? null)}, must be an integer 1..${MAX_WORKERS}`, { path: 'count', value: count ?? null, allowed: `integer 1..${MAX_WORKERS}` });
  }
  return count;
}

export async function resizeWorkers(proxy: ProxyHandle, text: string): Promise<ResizeReport> {
  const count = countOf(text);
  try {
    return await proxy.resize(count);
  } catch (err) {
    throw resizeError(err);
  }
}

/** SIP_ERR_RESIZE_* as admin errors (also for a reload that changes `workers`). */
export function resizeError(err: unknown): AdminError | unknown {
  if (isSipProxyError(err, 'SIP_ERR_RESIZE_BUSY')) return adminError('ADMIN_ERR_RESIZE_BUSY', err.message);
  if (isSipProxyError(err, 'SIP_ERR_RESIZE_COUNT')) return adminError('ADMIN_ERR_BAD_REQUEST', err.message);
  return err;
}
