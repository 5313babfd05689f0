// Wires a ShardRuntime to the MessagePort the main thread handed over; resolves on 'stop'.
import type { MessagePort } from 'node:worker_threads';
import type { SendTarget } from '../transport/types.js';
import type { FromShard, FromShardBatch, ShardInit, ToShard } from './channel.js';
import { ShardRuntime } from './shard-runtime.js';
import { packSipAfterControl, SipRunWriter } from './sip-frames.js';
import { nameThisThread, shardThreadName } from './thread-name.js';

const sipData = (item: FromShard): Uint8Array | undefined => (item.t === 'sip' ? item.d : undefined);
const sipTarget = (item: FromShard): SendTarget => (item as { to: SendTarget }).to;

/** Posts a batch with its SIP messages packed into one transferred buffer, after its control items (sip-frames.ts). */
function poster(port: MessagePort): (batch: FromShardBatch) => void {
  const writer = new SipRunWriter();
  return (batch) => {
    const transfer: ArrayBuffer[] = [];
    batch.out = packSipAfterControl(batch.out, sipData, sipTarget, writer, transfer);
    port.postMessage(batch, transfer);
  };
}

export function runShardOnPort(port: MessagePort, init: ShardInit): Promise<void> {
  // top -H and the benches' per-thread CPU split (bench/lib/proc.ts) tell the shards apart by name;
  // a piscina thread that later runs another shard (after a resize) takes that one's name
  nameThisThread(shardThreadName(init.shardId));
  return new Promise((resolve) => {
    const runtime = new ShardRuntime(init, poster(port));
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
