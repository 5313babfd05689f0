// Starts our proxy (node dist/lib/cli.js) as a child process from a generated temp config:
// UDP on 127.0.0.1:<free port>, location store in memory (or, with --journal, journaled in the
// temp dir as the default config journals it), warnings only, 4 MB receive buffer, route '9' ->
// the benchmark UAS (strip 1), optional bench users.
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { parseArgs } from 'node:util';
import { packageRoot, resolveWorkerCount } from '../../lib/config/load-config.js';
import { MAX_WORKERS } from '../../lib/config/limits.js';
import { DEFAULT_PLACEMENT } from '../../lib/config/schema.js';
import type { FsyncPolicy } from '../../lib/persist/journal.js';
import { PROXY_NODE_FLAGS } from '../../lib/node-flags.js';
import { oneOf } from './args.js';
import { reportLog, startBounded } from './child.js';
import { freeUdpPort, waitForSip } from './net.js';
import { peakRssKb, rssKb, threadCpu } from './proc.js';
import type { BenchUser, Target } from './target.js';

// dist/lib/cli.js of the same build when the benches run; from the TypeScript sources (a test that
// starts the bench's proxy), the package's dist/ (as shardWorkerFile does for the shard entry)
const CLI = import.meta.url.endsWith('.ts') ? join(packageRoot(), 'dist', 'lib', 'cli.js') : fileURLToPath(new URL('../../lib/cli.js', import.meta.url));

export interface OurProxyOptions {
  workers: number;
  /** shard.placement (absent: the config default, DEFAULT_PLACEMENT) */
  placement?: Placement;
  uasPort: number;
  users?: BenchUser[];
  /** Digest algorithms offered (sipp 3.6 answers only the first challenge, and only MD5). */
  algorithms?: string[];
  maxMs: number;
  /** serve the admin API on this loopback port with this token (off otherwise) */
  admin?: { port: number; token: string };
  /** write V8 CPU profiles (main thread and every worker) into this directory */
  cpuProfDir?: string;
  /** shard.youngGenerationMb (absent: the config default) */
  youngGenerationMb?: number;
  /** registrar.statelessChallenge on (absent: the config default, off) */
  statelessChallenge?: boolean;
  /** node / V8 options before the script (e.g. --max-semi-space-size=8), for experiments */
  nodeFlags?: string[];
  /** transport.udpBatchSend (absent: the config default, on) */
  udpBatchSend?: boolean;
  /** the location journal (registrar.storePath) in the run's temp dir with this fsync; absent: in memory */
  journal?: FsyncPolicy;
  /** config settings by dotted path, applied last (--set shard.batchMax=128) */
  settings?: Array<[path: string, value: unknown]>;
}

const JOURNAL_POLICIES: readonly FsyncPolicy[] = ['always', 'interval', 'never'];
type Placement = 'hash' | 'load';
const PLACEMENTS: readonly Placement[] = ['hash', 'load'];

/** The command-line options every load bench takes for our proxy (parseArgs form). */
export const OUR_PROXY_ARGS = {
  /** the proxy's own default, 'auto' resolved here (CPUs less one) */
  workers: { type: 'string', default: String(resolveWorkerCount({ workers: 'auto' })) },
  /** shard.placement, or a list of them (compare.js, register.js and floor.js: a target per value) */
  placement: { type: 'string' },
  'cpu-prof': { type: 'string' },
  'young-generation-mb': { type: 'string' },
  'stateless-challenge': { type: 'boolean', default: false },
  'node-flags': { type: 'string' },
  'udp-batch-send': { type: 'string', default: 'on' },
  /** registrar.storePath in the run's temp dir (new each run) with this registrar.fsync */
  journal: { type: 'string' },
  /** any config setting, by dotted path: --set shard.batchMax=128 (repeatable; JSON values, else a string) */
  set: { type: 'string', multiple: true },
} as const;

/** What parseArgs gives for OUR_PROXY_ARGS (each script adds options of its own beside them). */
export type OurProxyArgValues = Partial<ReturnType<typeof parseArgs<{ options: typeof OUR_PROXY_ARGS }>>['values']>;

/** Their usage lines, for the scripts' --help. */
export const OUR_PROXY_USAGE = `our proxy:
  [--workers N]  (default: the proxy's 'auto', CPUs less one: ${OUR_PROXY_ARGS.workers.default} here)
                 (0: the shard on the main thread; compare.js and register.js take a list, --workers 1,0: a target per count, alternating)
  [--placement hash|load]  (shard.placement; default: the config's, load; a list, --placement hash,load, as --workers)
  [--cpu-prof DIR]  (V8 CPU profiles of its threads, written when it stops)
  [--young-generation-mb N] [--stateless-challenge] [--udp-batch-send on|off]
  [--journal always|interval|never]  (the location journal on, as in the default config, with this fsync; default: in memory)
  [--node-flags='--max-semi-space-size=8 ...'] [--set shard.batchMax=128 ...]  (any config setting, repeatable)`;

type OurArgOptions = Pick<OurProxyOptions, 'workers' | 'placement' | 'cpuProfDir' | 'youngGenerationMb' | 'statelessChallenge' | 'nodeFlags' | 'udpBatchSend' | 'journal' | 'settings'>;

/** `--workers`: one count, or a comma-separated list of them (distinct, in the order given). */
export function parseWorkerCounts(text: string): number[] {
  const counts = text.split(',').map((c) => c.trim());
  if (counts.some((c) => !/^\d+$/.test(c) || Number(c) > MAX_WORKERS)) {
    throw new Error(`--workers: got "${text}", allowed: an integer 0..${MAX_WORKERS} (0: the shard on the main thread), or for compare.js and register.js a comma-separated list of them`);
  }
  return [...new Set(counts.map(Number))];
}

/** OurProxyOptions from those options' values; `--workers` must be one count here. */
export function ourProxyOptions(v: OurProxyArgValues): OurArgOptions {
  const workers = parseWorkerCounts(v.workers ?? OUR_PROXY_ARGS.workers.default);
  if (workers.length > 1) throw new Error(`--workers: got "${v.workers}", one count here (compare.js and register.js take a list, a target per count)`);
  const placements = parsePlacements(v.placement);
  if (placements.length > 1) throw new Error(`--placement: got "${v.placement}", one value here (compare.js and register.js take a list, a target per value)`);
  return optionsFor(v, workers[0]!, placements[0]);
}

/** `--placement`: absent (the config default), one value, or a comma-separated list of them. */
function parsePlacements(text: string | undefined): Array<Placement | undefined> {
  if (text === undefined) return [undefined];
  const values = [...new Set(text.split(',').map((p) => p.trim()))];
  for (const p of values) oneOf('--placement', p, PLACEMENTS);
  return values as Placement[];
}

/** One set of our proxy's options per count of `--workers` and value of `--placement` (compare.js and register.js run each as a target). */
export function ourProxyVariants(v: OurProxyArgValues): OurArgOptions[] {
  const placements = parsePlacements(v.placement);
  return parseWorkerCounts(v.workers ?? OUR_PROXY_ARGS.workers.default).flatMap((w) => placements.map((p) => optionsFor(v, w, p)));
}

/** The options' values for a proxy of `workers` worker threads. */
function optionsFor(v: OurProxyArgValues, workers: number, placement: Placement | undefined): OurArgOptions {
  const journal = v.journal === undefined ? undefined : oneOf('--journal', v.journal, JOURNAL_POLICIES);
  return {
    workers,
    ...(placement === undefined ? {} : { placement }),
    cpuProfDir: v['cpu-prof'],
    youngGenerationMb: v['young-generation-mb'] === undefined ? undefined : Number(v['young-generation-mb']),
    statelessChallenge: v['stateless-challenge'] === true,
    nodeFlags: v['node-flags']?.split(/\s+/).filter((f) => f !== ''),
    udpBatchSend: v['udp-batch-send'] !== 'off',
    journal,
    settings: (v.set ?? []).map(parseSetting),
  };
}

/** `a.b.c=value`: the value as JSON when it parses (numbers, booleans, arrays), else the text. */
export function parseSetting(arg: string): [string, unknown] {
  const eq = arg.indexOf('=');
  const path = eq > 0 ? arg.slice(0, eq) : '';
  if (!/^[A-Za-z][A-Za-z0-9]*(\.[A-Za-z][A-Za-z0-9]*)*$/.test(path)) throw new Error(`--set ${arg}: expected path=value, path dotted config keys (shard.batchMax=128)`);
  const text = arg.slice(eq + 1);
  try {
    return [path, JSON.parse(text) as unknown];
  } catch {
    return [path, text];
  }
}

/** Writes `value` at a dotted path of a plain config object, making the sections on the way. */
function setAt(config: Record<string, unknown>, path: string, value: unknown): void {
  const keys = path.split('.');
  let node = config;
  for (const k of keys.slice(0, -1)) {
    const next = node[k];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[k] = {};
    node = node[k] as Record<string, unknown>;
  }
  node[keys[keys.length - 1]!] = value;
}

/** The config our proxy runs a bench on: listening on `port`, its files (if any) under `dir`. */
export function ourBenchConfig(o: OurProxyOptions, dir: string, port: number): Record<string, unknown> {
  const config: Record<string, unknown> = {
    workers: o.workers,
    log: { level: 'warn' },
    listen: [{ transport: 'udp', address: '127.0.0.1', port }],
    transport: { udpRecvBufferBytes: 4194304, udpSendBufferBytes: 4194304, ...(o.udpBatchSend === false ? { udpBatchSend: false } : {}) },
    registrar: {
      ...(o.journal === undefined ? { storePath: '' } : { storePath: join(dir, 'location.msgpack'), fsync: o.journal }),
      ...(o.statelessChallenge === true ? { statelessChallenge: true } : {}),
    },
    shard: {
      ...(o.youngGenerationMb === undefined ? {} : { youngGenerationMb: o.youngGenerationMb }),
      ...(o.placement === undefined ? {} : { placement: o.placement }),
      // profiling: no drain wait at stop (nothing is pending after the last step) before the threads
      // write their profiles
      ...(o.cpuProfDir === undefined ? {} : { drainSeconds: 2 }),
    },
    // the load generators all send from 127.0.0.1 at rates far above a single phone's
    security: { exempt: ['127.0.0.1'] },
    auth: { algorithms: o.algorithms ?? ['MD5'] },
    admin: o.admin === undefined ? { enabled: false } : { enabled: true, address: '127.0.0.1', ...o.admin },
    users: o.users ?? [],
    routes: [{ prefix: '9', destination: `sip:127.0.0.1:${o.uasPort}`, strip: 1 }],
  };
  for (const [path, value] of o.settings ?? []) setAt(config, path, value);
  return config;
}

export async function startOurProxy(o: OurProxyOptions): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-proxy-'));
  const port = await freeUdpPort();
  const config = ourBenchConfig(o, dir, port);
  if (o.cpuProfDir !== undefined) mkdirSync(o.cpuProfDir, { recursive: true });
  const profilesBefore = o.cpuProfDir === undefined ? 0 : cpuProfiles(o.cpuProfDir).length;
  const configPath = join(dir, 'bench.yaml');
  writeFileSync(configPath, JSON.stringify(config, null, 1)); // JSON is YAML
  // the options npm start runs the proxy with first: --node-flags come after them and win
  const proc = startBounded('proxy', process.execPath, [...PROXY_NODE_FLAGS, ...(o.nodeFlags ?? []), ...(o.cpuProfDir === undefined ? [] : ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`]), CLI, '--config', configPath], o.maxMs, { logFile: join(dir, 'proxy.log') });
  try {
    await Promise.race([waitForSip(port, 15000, o.workers), proc.exited.then((c) => { throw new Error(`proxy exited (${c}), see ${dir}/proxy.log`); })]);
  } catch (err) {
    await proc.stop();
    throw err;
  }
  return {
    name: o.workers === 0 ? 'sipshard (0 workers: shard on the main thread)' : `sipshard (${o.workers} workers, placement: ${o.placement ?? DEFAULT_PLACEMENT})`,
    port,
    cpuPids: () => [proc.pid],
    cpuSplit: () => threadCpu(proc.pid),
    memoryKb: () => peakRssKb(proc.pid),
    currentMemoryKb: () => rssKb(proc.pid),
    stop: async () => {
      // a profiling proxy serializes each thread's profile on exit (MBs of JSON per thread): a
      // SIGKILL at the usual grace would lose them
      const code = await proc.stop(o.cpuProfDir === undefined ? 5000 : 60_000);
      if (o.cpuProfDir !== undefined) {
        const n = cpuProfiles(o.cpuProfDir).length - profilesBefore;
        process.stderr.write(`proxy exited (${code}); ${n} CPU profile(s) written to ${o.cpuProfDir} (main thread and each worker)\n`);
      }
      reportLog('proxy', join(dir, 'proxy.log'), /"level":(40|50|60)|fatal|Error/);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

const cpuProfiles = (dir: string): string[] => readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'));

/** Our proxy with the admin API on a free loopback port and a random token (bench:admin, bench:resize). */
export async function startOurProxyWithAdmin(workers: number, uasPort: number): Promise<{ proxy: Target; adminUrl: string; headers: Record<string, string> }> {
  const port = await freeUdpPort(); // a free number; the admin binds it on TCP
  const token = randomBytes(24).toString('base64url');
  const proxy = await startOurProxy({ workers, uasPort, maxMs: 30 * 60 * 1000, admin: { port, token } });
  return { proxy, adminUrl: `http://127.0.0.1:${port}`, headers: { authorization: `Bearer ${token}` } };
}
