// The servers of bench/floor.ts as load targets: bench/floor/echo.c built with the system's C
// compiler, and the Node.js echo servers of bench/floor/echo-server.ts, each a bounded child
// process on a free loopback port, charged its own CPU (all threads).
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../lib/config/load-config.js';
import { PROXY_NODE_FLAGS } from '../../lib/node-flags.js';
import { startBounded, type Bounded } from './child.js';
import { freeUdpPort, waitForSip } from './net.js';
import { peakRssKb, rssKb } from './proc.js';
import type { Target } from './target.js';

export const ECHO_KINDS = ['c', 'node-ours', 'node-dgram'] as const;
export type EchoKind = (typeof ECHO_KINDS)[number];

/** the same from dist/bench/lib (the bench) and bench/lib (a test importing this module) */
const packagePath = (rel: string): string => join(packageRoot(), rel);

/** The C server compiled into a temp dir; undefined (and why, on stderr) without a working cc. */
export function buildCEcho(): { binary: string; dir: string } | undefined {
  const dir = mkdtempSync(join(tmpdir(), 'bench-echo-'));
  const binary = join(dir, 'echo');
  try {
    execFileSync(process.env.CC ?? 'cc', ['-O2', '-o', binary, packagePath('bench/floor/echo.c')], { stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    return { binary, dir };
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    process.stderr.write(`C echo skipped: could not compile bench/floor/echo.c (${(err as Error).message.split('\n')[0]}); apt-get install gcc\n`);
    return undefined;
  }
}

function asTarget(name: string, port: number, proc: Bounded): Target {
  return {
    name, port,
    cpuPids: () => [proc.pid],
    memoryKb: () => peakRssKb(proc.pid),
    currentMemoryKb: () => rssKb(proc.pid),
    async stop() {
      await proc.stop();
    },
  };
}

/** Starts one echo server and waits until it answers. `cBinary` is buildCEcho()'s, for 'c'. */
export async function startEcho(kind: EchoKind, maxMs: number, cBinary?: string): Promise<Target> {
  const port = await freeUdpPort();
  let proc: Bounded;
  if (kind === 'c') {
    if (cBinary === undefined) throw new Error('startEcho c: no binary (buildCEcho)');
    proc = startBounded('echo-c', cBinary, [String(port)], maxMs);
  } else {
    // the options the proxy runs with: the same V8 heap and helper threads
    const script = packagePath('dist/bench/floor/echo-server.js');
    proc = startBounded(`echo-${kind}`, process.execPath, [...PROXY_NODE_FLAGS, script, kind === 'node-ours' ? 'ours' : 'dgram', String(port)], maxMs);
  }
  try {
    await waitForSip(port, 10_000);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return asTarget(`echo ${kind}`, port, proc);
}
