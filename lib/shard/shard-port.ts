// Wires a ShardRuntime to the MessagePort the main thread handed over; resolves on 'stop'.
import type { MessagePort } from 'node:worker_threads';
import type { FromShardBatch, ShardInit, ToShard } from './channel.js';
import { ShardRuntime } from './shard-runtime.js';
import { packSipAfterControl, shardSendData, shardSendTarget, SipRunWriter } from './sip-frames.js';
import { nameThisThread, shardThreadName } from './thread-name.js';
import { warmUpShard } from './shard-warm-up.js';

/** Posts a batch with its SIP messages packed into one transferred buffer, after its control items (sip-frames.ts). */
function poster(port: MessagePort): (batch: FromShardBatch) => void {
  const writer = new SipRunWriter();
  return (batch) => {
    const transfer: ArrayBuffer[] = [];
    batch.out = packSipAfterControl(batch.out, shardSendData, shardSendTarget, writer, transfer);
    port.postMessage(batch, transfer);
  };
}

/** `warmUp`: run shard.warmUpCalls made-up calls and shard.warmUpRegistrations registrations first (a
 *  proxy's start; not a replacement or a resize). */
export function runShardOnPort(port: MessagePort, init: ShardInit, warmUp = false): Promise<void> {
  // top -H and the benches' per-thread CPU split (bench/lib/proc.ts) tell the shards apart by name;
  // a piscina thread that later runs another shard (after a resize) takes that one's name
  nameThisThread(shardThreadName(init.shardId));
  // messages the main thread sends meanwhile wait on the port. Only a start's shards warm up, each
  // on a thread of its own for its whole life: no thread warms twice.
  const { warmUpCalls, warmUpRegistrations } = init.config.shard;
  const warm = warmUp ? warmUpShard(init.config, init.shardId, warmUpCalls, 1000, warmUpRegistrations) : undefined;
  return new Promise((resolve) => {
    const runtime = new ShardRuntime(init, poster(port));
    if (warm?.error !== undefined) runtime.log.warn(warm, 'shard warm-up stopped early (the shard runs cold)');
    else if (warm !== undefined) runtime.log.debug(warm, 'shard warmed up');
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
