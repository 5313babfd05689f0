// What a shard does as it starts, wherever it runs (a worker thread: shard-port.ts; the main thread
// under `workers: 0`: inline-shard.ts): the warm-up of a proxy's start, the runtime, and its
// answers packed for the main thread.
import type { FromShardBatch, ShardInit } from './channel.js';
import { ShardRuntime } from './shard-runtime.js';
import { warmUpShard } from './shard-warm-up.js';
import { packSipAfterControl, shardSendData, shardSendTarget, SipRunWriter } from './sip-frames.js';

/**
 * The shard's runtime. `warmUp`: run shard.warmUpCalls made-up calls and shard.warmUpRegistrations
 * registrations first (a proxy's start; not a replacement or a resize). `deliver` gets each answer
 * with its SIP messages packed into one buffer after its control items (sip-frames.ts: the main
 * thread's onBatch relies on that order) and the buffers to transfer.
 */
export function startShardRuntime(init: ShardInit, warmUp: boolean, deliver: (batch: FromShardBatch, transfer: ArrayBuffer[]) => void): ShardRuntime {
  const { warmUpCalls, warmUpRegistrations } = init.config.shard;
  const warm = warmUp ? warmUpShard(init.config, init.shardId, warmUpCalls, 1000, warmUpRegistrations) : undefined;
  const writer = new SipRunWriter();
  const runtime = new ShardRuntime(init, (batch) => {
    const transfer: ArrayBuffer[] = [];
    batch.out = packSipAfterControl(batch.out, shardSendData, shardSendTarget, writer, transfer);
    deliver(batch, transfer);
  });
  if (warm?.error !== undefined) runtime.log.warn(warm, 'shard warm-up stopped early (the shard runs cold)');
  else if (warm !== undefined) runtime.log.debug(warm, 'shard warmed up');
  return runtime;
}
