// JIT warm-up of a shard thread before it takes traffic: made-up calls (INVITE, 100, 180, 200, ACK,
// BYE, 200) and registrations (REGISTER, 401, REGISTER with credentials, 200) through a scratch
// ShardRuntime that nothing outside this function sees. Cold, a shard costs about twice its warm CPU
// per call for its first seconds; a proxy (re)started under full load then had both shards at ~90%
// of a core, the main thread starved of CPU and the socket queue past the overload threshold
// (README, Performance). A registration storm after a restart met cold registrar code the same
// way. The messages go in and out in packed runs, as the worker channel carries them, and each
// batch goes through structuredClone as a MessagePort's do, so its code is warm too and compiled
// for the object shapes real traffic brings. With plain objects, 15 functions compiled in the
// warm-up were thrown away once real batches came (`--trace-deopt`, 12 with the clone), and at
// 12,000 REGISTERs/s 2,364-2,654 of the first 0.5 s's ~5,900 registrations took 8 ms or more
// (up to 20-40 ms); with the clone 203-1,194 (up to 8-24 ms; bench/PERFORMANCE.md round 11). What
// remains at the start of traffic is V8 re-optimizing ~12 functions for what the warm-up never
// sends (likely the periodic stats requests and the completed store growing past its first index) and the shard's own
// closures (wrong call target).
// The scratch shard gets its own config (no lines or trunks: nothing registers upstream, nothing
// counts against a trunk's shared call counters, one route to a made-up UAS, one made-up user with a
// random password), its own location store and nonce secret, and what it sends goes to a sink: only
// V8's compiled code outlives it.
import { randomBytes } from 'node:crypto';
import { validateConfig } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import type { Clock } from '../txn/timers.js';
import { CallDriver } from './call-driver.js';
import { ShardRuntime } from './shard-runtime.js';

export interface ShardWarmUpReport {
  calls: number;
  registrations: number;
  ms: number;
  /** timers the scratch shard still held at the end (0: everything it made has ended) */
  timersLeft?: number;
  /** why it stopped early or did not run (a config the scratch shard refused, a defect) */
  error?: string;
}

/** the scratch shard's only user (its password is random: no one else could register as it) */
const WARM_UP_USER = 'warm-up';

/** The running config with what could leave the scratch shard taken out. */
function scratchConfig(config: Config, password: string): Config {
  const raw = JSON.parse(JSON.stringify(config)) as Record<string, unknown> & Pick<Config, 'registrar' | 'domains'>;
  return validateConfig({
    ...raw,
    log: { level: 'silent' },
    domains: [...new Set(['127.0.0.1', ...raw.domains])],
    registrar: { ...raw.registrar, storePath: '' },
    users: [{ username: WARM_UP_USER, password }],
    lines: [],
    trunks: [],
    routes: [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 1 }],
  }, 'shard warm-up');
}

/**
 * Drive up to `calls` calls, then up to `registrations` registrations, through a scratch shard;
 * each part stops after `maxMs`. Never throws.
 */
export function warmUpShard(config: Config, shardId: number, calls: number, maxMs = 2000, registrations = 0): ShardWarmUpReport {
  const t0 = Date.now();
  if (calls <= 0 && registrations <= 0) return { calls: 0, registrations: 0, ms: 0 };
  let driver: CallDriver | undefined;
  let i = 0;
  let r = 0;
  try {
    const user = { username: WARM_UP_USER, password: randomBytes(18).toString('base64') };
    const scratch = scratchConfig(config, user.password);
    let skewMs = 0;
    const clock: Clock = { now: () => Date.now() + skewMs };
    const d = driver = new CallDriver((post) => new ShardRuntime({
      shardId, shardCount: 1, config: scratch, listeners: [{ transport: 'udp', address: '127.0.0.1', port: 5060 }],
      nonceSecret: randomBytes(32), location: new Uint8Array(0),
    }, post, clock, false), undefined, true);
    // Every 64, the scratch shard's clock jumps past every timer of what came before (Timer J and L
    // of its transactions, the dialogs' ends) and they fire: what they held dies young, instead of
    // being promoted and lingering as old-space garbage (RSS) until a full collection.
    const settleMs = 64 * scratch.proxy.t1Ms + 60_000; // past Timer J and L, and any dialog's end
    const settle = (): void => { skewMs += settleMs; d.rt.timers.advance(); };
    let deadline = t0 + maxMs;
    for (; i < calls && (i % 64 !== 0 || Date.now() < deadline); i++) {
      d.hangUp(i, d.setUp(i));
      if (i % 64 === 63) settle();
    }
    deadline = Date.now() + maxMs;
    for (; r < registrations && (r % 64 !== 0 || Date.now() < deadline); r++) {
      d.register(r, user);
      if (r % 64 === 63) settle();
    }
    settle();
    return { calls: i, registrations: r, ms: Date.now() - t0, timersLeft: d.rt.timers.size };
  } catch (err) {
    return { calls: i, registrations: r, ms: Date.now() - t0, error: (err as Error).message };
  } finally {
    driver?.rt.stop();
  }
}
