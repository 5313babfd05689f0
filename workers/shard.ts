// Piscina task: one long-lived task per thread runs one shard, streaming batches over a MessagePort.
import type { MessagePort } from 'node:worker_threads';
import { runShardOnPort } from '../lib/shard/shard-port.js';
import type { ShardInit } from '../lib/shard/channel.js';

export default function shardTask(task: { port: MessagePort; init: ShardInit; warmUp?: boolean } | { warm: true }): Promise<void> {
  // a warm-up task only makes piscina start a thread (the spare kept after a change of worker count)
  if ('warm' in task) return Promise.resolve();
  return runShardOnPort(task.port, task.init, task.warmUp === true);
}
