// In-thread call driving for the shard benches (shard-flow, dialog-memory, shard-steady): the
// simulated phones and the driver live in lib/shard/call-driver.ts; here the bench shard.
import { randomBytes } from 'node:crypto';
import { defaultConfigPath, loadConfigFile, validateConfig } from '../../lib/config/load-config.js';
import { CallDriver as ShardCallDriver } from '../../lib/shard/call-driver.js';
import type { FromShardBatch } from '../../lib/shard/channel.js';
import { ShardRuntime } from '../../lib/shard/shard-runtime.js';
import type { Clock } from '../../lib/txn/timers.js';

export { CALLEE, CALLER, req, respond, SDP } from '../../lib/shard/call-driver.js';

/** A shard with the default config (silent log, no registrar file, `overrides` on top) and a sink for what it sends. */
export function benchShard(post: (b: FromShardBatch) => void, clock?: Clock, autoTick = true, overrides: Record<string, unknown> = {}): ShardRuntime {
  const base = JSON.parse(JSON.stringify(loadConfigFile(defaultConfigPath()))) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base, log: { level: 'silent' }, registrar: { storePath: '' } };
  // one level deep: `auth: { algorithms }` keeps the rest of the default auth section
  for (const [k, v] of Object.entries(overrides)) {
    const was = merged[k];
    merged[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && was !== null && typeof was === 'object' ? { ...was, ...v } : v;
  }
  const config = validateConfig(merged, 'bench');
  return new ShardRuntime(
    { shardId: 0, shardCount: 1, config, listeners: [{ transport: 'udp', address: '127.0.0.1', port: 5060 }], nonceSecret: randomBytes(32), location: new Uint8Array(0) },
    post, clock, autoTick,
  );
}

/** Drives calls through one bench shard (the default config). */
export class CallDriver extends ShardCallDriver {
  constructor(clock?: Clock, autoTick = true, onBatch?: (b: FromShardBatch) => void) {
    super((post) => benchShard(post, clock, autoTick), onBatch);
  }
}
