// What a live reload may change. Users, routes, auth, registrar limits, proxy options and timers,
// overload thresholds, domains, the log level, the admin token and the worker count (resharding,
// lib/shard/resizer.ts; not to or from 0), the relay policy's trusted networks change at run time; what binds sockets
// or builds peers needs a restart, so a reload that changes it is refused whole (the running config
// stays) rather than applied in part.
import { createError } from '../errors.js';
import type { Config } from './schema.js';

/** Dotted paths read only at start. */
export const RESTART_ONLY_PATHS: readonly string[] = [
  'listen', 'transport', 'tls', 'shard.batchMax', 'shard.postsInFlight', 'shard.placement', 'registrar.storePath', 'locale', 'lines', 'trunks',
  'admin.enabled', 'admin.address', 'admin.port', 'admin.tokenFile', 'admin.certFile', 'admin.keyFile',
];

function at(config: Config, path: string): unknown {
  let node: unknown = config;
  for (const key of path.split('.')) node = (node as Record<string, unknown> | undefined)?.[key];
  return node;
}

/** `workers` changes live (resharding), but not to or from 0: the shard on the main thread has no
 *  thread to hand calls over from or to (lib/shard/inline-shard.ts). */
function mainThreadShardChanged(running: Config, next: Config): boolean {
  return (running.workers === 0) !== (next.workers === 0);
}

/** Restart-only paths whose value differs between the running config and the new one. */
export function restartOnlyChanges(running: Config, next: Config): string[] {
  const changed = RESTART_ONLY_PATHS.filter((p) => JSON.stringify(at(running, p)) !== JSON.stringify(at(next, p)));
  if (mainThreadShardChanged(running, next)) changed.push('workers');
  return changed;
}

/** Throws SIP_ERR_CONFIG naming every restart-only change; the caller keeps the running config. */
export function assertLiveReloadable(running: Config, next: Config): void {
  const changed = restartOnlyChanges(running, next);
  if (changed.length === 0) return;
  const lines = changed.map((p) => p === 'workers'
    ? `  workers: ${JSON.stringify(running.workers)} -> ${JSON.stringify(next.workers)}: to or from 0 (the shard on the main thread) is read only at start (restart to apply it)`
    : `  ${p}: changed, but it is read only at start (restart to apply it)`);
  throw createError('SIP_ERR_CONFIG', [`reload refused: ${changed.length} setting${changed.length === 1 ? '' : 's'} need${changed.length === 1 ? 's' : ''} a restart`, ...lines].join('\n'));
}
