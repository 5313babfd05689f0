// Bounded child processes: every process a benchmark starts has a kill timer, and stop() ends
// it (SIGTERM, then SIGKILL). killAll() is for finally blocks.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, readFileSync } from 'node:fs';

export interface Bounded {
  readonly name: string;
  readonly pid: number;
  readonly child: ChildProcess;
  /** Resolves with the exit code (or 128 + signal number style -1 when killed by a signal). */
  readonly exited: Promise<number>;
  stop(graceMs?: number): Promise<number>;
}

const live = new Set<Bounded>();

/** Spawns `cmd` with stdout/stderr to `logFile` ('ignore' when undefined); killed after maxMs. */
export function startBounded(name: string, cmd: string, args: string[], maxMs: number,
  opts: { cwd?: string; logFile?: string; detached?: boolean } = {}): Bounded {
  const out = opts.logFile === undefined ? 'ignore' : openSync(opts.logFile, 'a');
  const spawnOpts: SpawnOptions = { cwd: opts.cwd, stdio: ['ignore', out, out], detached: opts.detached ?? false };
  const child = spawn(cmd, args, spawnOpts);
  if (child.pid === undefined) throw new Error(`${name}: could not start ${cmd}`);
  let done = false;
  const exited = new Promise<number>((resolve) => {
    child.once('exit', (code) => { done = true; clearTimeout(timer); resolve(code ?? -1); });
    child.once('error', () => { done = true; clearTimeout(timer); resolve(-1); });
  });
  const timer = setTimeout(() => {
    process.stderr.write(`${name}: still running after ${maxMs} ms, killing it\n`);
    child.kill('SIGKILL');
  }, maxMs);
  const handle: Bounded = {
    name, pid: child.pid, child, exited,
    async stop(graceMs = 3000) {
      if (!done) {
        child.kill('SIGTERM');
        const t = setTimeout(() => { if (!done) child.kill('SIGKILL'); }, graceMs);
        await exited;
        clearTimeout(t);
      }
      live.delete(handle);
      return exited;
    },
  };
  live.add(handle);
  void exited.then(() => live.delete(handle));
  return handle;
}

/** Stops every child still running (finally blocks, signal handlers). */
export async function killAll(): Promise<void> {
  await Promise.all([...live].map((c) => c.stop(1000)));
}

/** Ctrl-C / SIGTERM of a benchmark stops its children before exiting. */
export function stopChildrenOnSignal(): void {
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { void killAll().finally(() => process.exit(130)); });
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Prints the lines of a server's log that match `re` (at most `max`), so a run shows what went wrong. */
export function reportLog(name: string, file: string, re: RegExp, max = 5): void {
  let lines: string[] = [];
  try { lines = readFileSync(file, 'latin1').split('\n').filter((l) => re.test(l)); } catch { return; }
  if (lines.length === 0) return;
  process.stderr.write(`${name} logged ${lines.length} problem line(s), first ${Math.min(max, lines.length)}:\n`);
  for (const l of lines.slice(0, max)) process.stderr.write(`  ${l.slice(0, 300)}\n`);
}
