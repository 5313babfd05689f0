// Wires a ShardRuntime to the MessagePort the main thread handed over; resolves on 'stop'.
import type { MessagePort } from 'node:worker_threads';
import type { ShardInit, ToShard } from './channel.js';
import { startShardRuntime } from './shard-start.js';
import { nameThisThread, shardThreadName } from './thread-name.js';

/** `warmUp`: run shard.warmUpCalls made-up calls and shard.warmUpRegistrations registrations first (a
 *  proxy's start; not a replacement or a resize). */
export function runShardOnPort(port: MessagePort, init: ShardInit, warmUp = false): Promise<void> {
  // top -H and the benches' per-thread CPU split (bench/lib/proc.ts) tell the shards apart by name;
  // a piscina thread that later runs another shard (after a resize) takes that one's name
  nameThisThread(shardThreadName(init.shardId));
  // messages the main thread sends meanwhile wait on the port. Only a start's shards warm up, each
  // on a thread of its own for its whole life: no thread warms twice.
  const runtime = startShardRuntime(init, warmUp, (batch, transfer) => port.postMessage(batch, transfer));
  return new Promise((resolve) => {
    port.on('message', (items: ToShard[]) => {
      if (items.length === 1 && items[0]!.t === 'stop') {
        runtime.stop();
        port.close();
        resolve();
        return;
      }
      runtime.handleBatch(items);
    });
  });
}
