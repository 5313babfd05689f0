// Starts the real proxy in-process (main thread here, shards on worker threads from dist/) on
// ephemeral loopback ports, from the default config plus overrides.
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfigPath, loadConfigFile, validateConfig } from '../../lib/config/load-config.js';
import type { Config } from '../../lib/config/schema.js';
import { createLogger } from '../../lib/log.js';
import { startProxy, type ProxyHandle } from '../../lib/server.js';

export type ConfigOverrides = Partial<Record<keyof Config, unknown>>;

/** Default config with overrides; listeners on port 0 unless given. */
export function testConfig(overrides: ConfigOverrides = {}): Config {
  const base = JSON.parse(JSON.stringify(loadConfigFile(defaultConfigPath()))) as Record<string, unknown>;
  const dir = mkdtempSync(join(tmpdir(), 'sipshard-test-'));
  const merged: Record<string, unknown> = {
    ...base,
    workers: 2,
    log: { level: 'silent' },
    listen: [
      { transport: 'udp', address: '127.0.0.1', port: 0 },
      { transport: 'tcp', address: '127.0.0.1', port: 0 },
    ],
    registrar: { ...(base.registrar as object), storePath: join(dir, 'location.msgpack') },
    tls: { ...(base.tls as object), selfSignedDir: join(dir, 'tls') },
    admin: { ...(base.admin as object), port: 0, tokenFile: join(dir, 'admin.token') },
    ...overrides,
  };
  return validateConfig(merged, 'test config');
}

/**
 * Stats asked until every shard answers. One ask waits 10 s; two test files starting proxies at
 * once on a shared 2-CPU machine can take longer than that to boot and warm up their shards
 * (shard.warmUp*), so a timed-out ask is asked again, up to a minute in all.
 */
async function shardsRunning(handle: ProxyHandle): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    try {
      await handle.shardStats();
      return;
    } catch (err) {
      if ((err as { code?: string }).code !== 'SIP_ERR_SHARD' || Date.now() >= deadline) throw err;
    }
  }
}

export async function startTestProxy(overrides: ConfigOverrides = {}): Promise<ProxyHandle & { udpPort: number; tcpPort: number; tlsPort: number }> {
  const config = testConfig(overrides);
  const handle = await startProxy(config, createLogger(config.log.level));
  // shard threads boot after startProxy returns (their queue waits meanwhile): a stats round trip
  // tells they all run, so a peer's first request is not late enough to be retransmitted
  try {
    await shardsRunning(handle);
  } catch (err) {
    await handle.close(); // a test that fails here must not leave sockets and threads behind
    throw err;
  }
  const udpPort = handle.listeners.find((l) => l.transport === 'udp')?.port ?? 0;
  const tcpPort = handle.listeners.find((l) => l.transport === 'tcp')?.port ?? 0;
  const tlsPort = handle.listeners.find((l) => l.transport === 'tls')?.port ?? 0;
  return Object.assign(handle, { udpPort, tcpPort, tlsPort });
}
