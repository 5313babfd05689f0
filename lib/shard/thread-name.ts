// Names the calling OS thread (Linux: /proc/thread-self/comm, what top -H, ps -L and the benches'
// per-thread CPU split read). Node 20 leaves every worker thread named like the process ("node"),
// and Worker's `name` option does not reach the OS. Best effort: elsewhere, or if /proc is not
// writable, the thread keeps its name and nothing fails.
import { writeFileSync } from 'node:fs';

/** Linux truncates a thread name to 15 bytes (TASK_COMM_LEN 16 with the NUL). */
export const THREAD_NAME_MAX = 15;

/** Prefix of every shard thread's name: `shard-<id>`. */
export const SHARD_THREAD_PREFIX = 'shard-';

/** Sets the calling thread's name; false when the system did not take it. */
export function nameThisThread(name: string): boolean {
  if (process.platform !== 'linux') return false;
  try {
    // a synchronous write runs on this thread, so thread-self is this thread (not a libuv pool one)
    writeFileSync('/proc/thread-self/comm', name.slice(0, THREAD_NAME_MAX));
    return true;
  } catch {
    return false;
  }
}

export const shardThreadName = (shardId: number): string => `${SHARD_THREAD_PREFIX}${shardId}`;
