// CPU time of the calling thread (not the process): in-thread benches charge each thread its own
// work while another thread runs beside it. Linux only.
import { readFileSync } from 'node:fs';

/**
 * CPU time of the calling thread in microseconds: the scheduler's nanosecond count
 * (/proc/thread-self/schedstat), else utime + stime in 10 ms ticks.
 */
export function threadCpuUs(): number {
  try {
    return Number(readFileSync('/proc/thread-self/schedstat', 'latin1').split(' ')[0]) / 1000;
  } catch {
    const f = readFileSync('/proc/thread-self/stat', 'latin1');
    const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
    return (Number(rest[11]) + Number(rest[12])) * 10_000;
  }
}

/** 'min / median' of a sample, three decimals. */
export function minMedian(xs: readonly number[]): string {
  const v = [...xs].sort((x, y) => x - y);
  return `${v[0]!.toFixed(3)} / ${v[v.length >> 1]!.toFixed(3)}`;
}
