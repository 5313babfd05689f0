// Wires a ShardRuntime to the MessagePort the main thread handed over; resolves on 'stop'.
import type { MessagePort } from 'node:worker_threads';
import type { ShardInit, ToShard } from './channel.js';
import { ShardRuntime } from './shard-runtime.js';

export function runShardOnPort(port: MessagePort, init: ShardInit): Promise<void> {
  return new Promise((resolve) => {
    const runtime = new ShardRuntime(init, (batch) => port.postMessage(batch));
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
