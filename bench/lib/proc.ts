// /proc readers for the benchmarks: CPU seconds (utime+stime of every thread of a process),
// peak and current RSS, PSS (for multi-process servers sharing memory), and a process's
// descendants (found by scanning the ppid of every /proc/<pid>/stat), and CPU per thread group of
// our proxy (main thread, shards, the rest). Linux only.
import { readdirSync, readFileSync } from 'node:fs';
import { SHARD_THREAD_PREFIX } from '../../lib/shard/thread-name.js';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64 and arm64

/** Fields after the comm of a /proc stat file: [0] = state, [1] = ppid, [11] utime, [12] stime. */
function statFieldsAt(path: string): { comm: string; f: string[] } | undefined {
  try {
    const s = readFileSync(path, 'latin1');
    const close = s.lastIndexOf(')');
    return { comm: s.slice(s.indexOf('(') + 1, close), f: s.slice(close + 2).split(' ') };
  } catch {
    return undefined;
  }
}

const statFields = (pid: number): string[] | undefined => statFieldsAt(`/proc/${pid}/stat`)?.f;
const ticksToS = (f: string[]): number => (Number(f[11]) + Number(f[12])) / CLK_TCK;

/** utime + stime in seconds, all threads included; 0 when the process is gone. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f === undefined ? 0 : ticksToS(f);
}

/** CPU seconds of our proxy's threads by group. */
export interface CpuSplit {
  /** the main thread (sockets, Call-ID peek, channel): the task whose id is the pid */
  main: number;
  /** every thread named shard-<id> (lib/shard/thread-name.ts) */
  shards: number;
  /** the rest: libuv's pool, V8's GC and compiler helpers, piscina's spare, exited threads */
  other: number;
}

export interface ThreadCpu extends CpuSplit {
  /** the process's own count (all threads, exited ones included) */
  total: number;
  /** each live thread: id, name, CPU seconds */
  threads: { tid: number; comm: string; cpuS: number }[];
}

/**
 * CPU seconds of a process per thread group, from /proc/<pid>/task/<tid>/stat. `other` is the
 * process total less main and shards, so it also holds threads that exited (a replaced shard):
 * the three add up to `total` (to a tick). Undefined when the process is gone.
 */
export function threadCpu(pid: number): ThreadCpu | undefined {
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return undefined;
  }
  const threads: ThreadCpu['threads'] = [];
  let main = 0;
  let shards = 0;
  for (const t of tids) {
    const s = statFieldsAt(`/proc/${pid}/task/${t}/stat`);
    if (s === undefined) continue; // exited between readdir and read
    const cpuS = ticksToS(s.f);
    const tid = Number(t);
    threads.push({ tid, comm: s.comm, cpuS });
    if (tid === pid) main += cpuS;
    else if (s.comm.startsWith(SHARD_THREAD_PREFIX)) shards += cpuS;
  }
  // read after the threads, so a tick they got meanwhile lands in `other`, never below zero
  const total = cpuSeconds(pid);
  const other = Math.max(0, round(total - main - shards));
  return { main: round(main), shards: round(shards), other, total: round(total), threads };
}

/** b - a per group (a step's share); undefined when either side is missing. */
export function cpuSplitDelta(a: CpuSplit | undefined, b: CpuSplit | undefined): CpuSplit | undefined {
  if (a === undefined || b === undefined) return undefined;
  return { main: round(b.main - a.main), shards: round(b.shards - a.shards), other: round(b.other - a.other) };
}

const round = (x: number): number => Math.round(x * 100) / 100;

/** Sum of cpuSeconds over several processes. */
export function cpuSecondsOf(pids: readonly number[]): number {
  return pids.reduce((sum, pid) => sum + cpuSeconds(pid), 0);
}

function statusKb(pid: number, key: 'VmHWM' | 'VmRSS'): number {
  try {
    const m = new RegExp(`^${key}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'latin1'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** Peak resident set (VmHWM) in kB. */
export const peakRssKb = (pid: number): number => statusKb(pid, 'VmHWM');
/** Current resident set (VmRSS) in kB. */
export const rssKb = (pid: number): number => statusKb(pid, 'VmRSS');

/** Proportional set size in kB: shared pages split between the processes mapping them. */
export function pssKb(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** The process and all its descendants. */
export function processTree(root: number): number[] {
  const children = new Map<number, number[]>();
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    const f = statFields(pid);
    if (f === undefined) continue;
    const ppid = Number(f[1]);
    const list = children.get(ppid);
    if (list === undefined) children.set(ppid, [pid]);
    else list.push(pid);
  }
  const out: number[] = [];
  const todo = [root];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}
