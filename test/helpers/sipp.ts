// Runs sipp (Debian package sip-tester) as a real peer of the proxy: bounded in time (sipp's own
// -timeout plus a kill timer here), bound to loopback only (signalling, media and the control
// socket), in a temp directory so its trace files never land in the repo.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../lib/config/load-config.js';

export const SIPP = process.env.SIPP ?? 'sipp';
/** our scenario files (the same from test/ and from dist/test/) */
export const SCENARIO_DIR = join(packageRoot(), 'test', 'sipp');

export function scenario(name: string): string {
  return join(SCENARIO_DIR, name);
}

/** Why sipp cannot run here, or undefined when it can. */
export function sippMissing(): string | undefined {
  const r = spawnSync(SIPP, ['-v'], { encoding: 'utf8', timeout: 5000 });
  if (r.error !== undefined) return `sipp not runnable ('${SIPP}': ${r.error.message}); install the Debian package sip-tester or set SIPP`;
  return /SIPp v\d/.test(r.stdout + r.stderr) ? undefined : `'${SIPP} -v' did not print a SIPp version`;
}

/**
 * True when the test can go on. Without sipp, CI (CI=true) fails the test with the reason, since
 * CI installs sip-tester on purpose (DESIGN.md); a developer's machine skips it with the reason.
 */
export function requireSipp(t: { fail(message: string): unknown; skip(name: string, fn: () => void): unknown }): boolean {
  const missing = sippMissing();
  if (missing === undefined) return true;
  if (process.env.CI === 'true') t.fail(`sipp is required in CI: ${missing}`);
  else t.skip(missing, () => undefined);
  return false;
}

function bindUdp(port: number): Promise<Socket | undefined> {
  return new Promise((done) => {
    const s = createSocket('udp4');
    s.once('error', () => { s.close(); done(undefined); });
    s.bind(port, '127.0.0.1', () => done(s));
  });
}

async function closeAll(sockets: Socket[]): Promise<void> {
  await Promise.all(sockets.map((s) => new Promise<void>((r) => s.close(() => r()))));
}

/** A loopback UDP port free right now (bound to port 0, then released for sipp to take). */
export async function freeUdpPort(): Promise<number> {
  const s = (await bindUdp(0))!;
  const { port } = s.address();
  await closeAll([s]);
  return port;
}

/**
 * A free UDP port for sipp's remote-control socket, below Linux's ephemeral range (32768-60999):
 * a port the kernel handed us for port 0 could be handed to another test's socket between our
 * close and sipp's bind (seen once in CI: sipp exit 254, "Unable to bind remote control socket").
 * Here only another explicit pick can collide, one in 12,000.
 */
export async function freeControlPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const port = 20000 + Math.floor(Math.random() * 12000);
    const s = await bindUdp(port);
    if (s === undefined) continue;
    await closeAll([s]);
    return port;
  }
  return freeUdpPort();
}

/** A free pair p, p+2: sipp binds its media socket on -mp and the video one on -mp + 2. */
export async function freeMediaPort(): Promise<number> {
  for (let i = 0; i < 50; i++) {
    const a = (await bindUdp(0))!;
    const p = a.address().port;
    const b = p + 2 <= 65535 ? await bindUdp(p + 2) : undefined;
    await closeAll(b === undefined ? [a] : [a, b]);
    if (b !== undefined) return p;
  }
  throw new Error('no free UDP port pair for sipp media');
}

export interface SippOptions {
  /** hard bound: sipp gets -timeout of this (unless args set one) and is killed 3 s after it */
  timeoutMs: number;
  /** write every message sent and received to messages.log (returned as `messages`) */
  traceMessages?: boolean;
  /** keep the temp directory (its path is in the result) */
  keepDir?: boolean;
}

/** The final line of sipp's -trace_stat CSV, by column name. */
export type SippStats = Record<string, string>;

export interface SippResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  /** killed by our timer, not ended by itself */
  killed: boolean;
  stdout: string;
  stderr: string;
  stats: SippStats | undefined;
  /** -trace_err file: unexpected messages, aborted calls, timeouts */
  errors: string;
  /** -trace_msg file when traceMessages was set */
  messages: string;
  dir: string;
}

/** A cumulative counter of the stats, e.g. count(r.stats, 'SuccessfulCall(C)'); NaN if absent. */
export function count(stats: SippStats | undefined, column: string): number {
  const v = stats?.[column];
  return v === undefined ? NaN : Number(v);
}

/** The figures the tests assert and print. */
export function summary(r: SippResult): { created: number; successful: number; failed: number; retransmissions: number; deadCallMsgs: number; incoming: number } {
  return {
    created: count(r.stats, 'TotalCallCreated'),
    incoming: count(r.stats, 'IncomingCall(C)'),
    successful: count(r.stats, 'SuccessfulCall(C)'),
    failed: count(r.stats, 'FailedCall(C)'),
    retransmissions: count(r.stats, 'Retransmissions(C)'),
    deadCallMsgs: count(r.stats, 'DeadCallMsgs(C)'),
  };
}

export function parseStatsCsv(text: string): SippStats | undefined {
  const lines = text.split('\n').filter((l) => l.trim() !== '');
  if (lines.length < 2) return undefined;
  const names = lines[0]!.split(';');
  const values = lines[lines.length - 1]!.split(';');
  const stats: SippStats = {};
  names.forEach((n, i) => { if (n !== '') stats[n] = values[i] ?? ''; });
  return stats;
}

export interface SippHandle {
  readonly child: ChildProcess;
  readonly dir: string;
  /** settles when sipp exits by itself (or is killed by the timer) */
  readonly done: Promise<SippResult>;
  /**
   * Ask sipp to quit (SIGUSR1, like its q key): it stops taking calls and exits once the running
   * ones end; the built-in uas lingers 4 s after each BYE (timewait), so the default grace is 6 s.
   * Killed after that.
   */
  stop(graceMs?: number): Promise<SippResult>;
}

function readIf(path: string): string {
  return existsSync(path) ? readFileSync(path, 'latin1') : '';
}

/** Start sipp in the background (e.g. a UAS); every run is bounded by opts.timeoutMs. */
export async function startSipp(args: readonly string[], opts: SippOptions): Promise<SippHandle> {
  const dir = mkdtempSync(join(tmpdir(), 'sipp-'));
  const controlPort = await freeControlPort();
  const full = [
    ...args,
    '-nostdin',
    '-ci', '127.0.0.1', '-cp', String(controlPort),
    '-trace_stat', '-stf', 'stats.csv',
    '-trace_err', '-error_file', 'errors.log',
  ];
  if (!args.includes('-timeout')) full.push('-timeout', `${Math.ceil(opts.timeoutMs / 1000)}s`);
  if (opts.traceMessages === true) full.push('-trace_msg', '-message_file', 'messages.log');
  const child = spawn(SIPP, full, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('latin1').on('data', (d: string) => { stdout += d; });
  child.stderr!.setEncoding('latin1').on('data', (d: string) => { stderr += d; });
  let killed = false;
  const timer = setTimeout(() => { killed = true; child.kill('SIGKILL'); }, opts.timeoutMs + 3000);
  const done = new Promise<SippResult>((resolveDone) => {
    let finished = false;
    // a failed spawn emits 'error' and then 'close': collect once
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      if (finished) return;
      finished = true;
      clearTimeout(timer);
      const result: SippResult = {
        code, signal, killed, stdout, stderr,
        stats: parseStatsCsv(readIf(join(dir, 'stats.csv'))),
        errors: readIf(join(dir, 'errors.log')),
        messages: readIf(join(dir, 'messages.log')),
        dir,
      };
      if (opts.keepDir !== true) rmSync(dir, { recursive: true, force: true });
      resolveDone(result);
    };
    child.once('error', (err) => { stderr += String(err); finish(null, null); });
    child.once('close', finish);
  });
  return {
    child,
    dir,
    done,
    async stop(graceMs = 6000): Promise<SippResult> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGUSR1');
        const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const r = await done;
        clearTimeout(t);
        return r;
      }
      return done;
    },
  };
}

/** Run sipp to completion (a UAC with -m) and collect its outcome. */
export async function runSipp(args: readonly string[], opts: SippOptions): Promise<SippResult> {
  return (await startSipp(args, opts)).done;
}

/** The usual loopback options for a sipp endpoint on `port`: signalling and media on 127.0.0.1. */
export async function loopbackArgs(port: number): Promise<string[]> {
  return ['-i', '127.0.0.1', '-p', String(port), '-mi', '127.0.0.1', '-mp', String(await freeMediaPort())];
}

/** Text for the failure message of an assertion on a sipp run: exit, stats and what it logged. */
export function sippReport(r: SippResult): string {
  return `sipp exit ${r.code ?? r.signal}${r.killed ? ' (killed by timer)' : ''}; ${JSON.stringify(summary(r))}\n`
    + `${r.errors.slice(0, 3000)}\n${r.stderr.slice(0, 1000)}`;
}
