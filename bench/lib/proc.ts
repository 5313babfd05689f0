// /proc readers for the benchmarks: CPU seconds (utime+stime of every thread of a process),
// peak and current RSS, PSS (for multi-process servers sharing memory), and a process's
// descendants (found by scanning the ppid of every /proc/<pid>/stat). Linux only.
import { readdirSync, readFileSync } from 'node:fs';

const CLK_TCK = 100; // sysconf(_SC_CLK_TCK) on Linux x86_64 and arm64

function statFields(pid: number): string[] | undefined {
  try {
    const s = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return s.slice(s.lastIndexOf(')') + 2).split(' '); // [0] = state, [1] = ppid, [11] utime, [12] stime
  } catch {
    return undefined;
  }
}

/** utime + stime in seconds, all threads included; 0 when the process is gone. */
export function cpuSeconds(pid: number): number {
  const f = statFields(pid);
  return f === undefined ? 0 : (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

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
