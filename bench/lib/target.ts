// A SIP server under load: where to send traffic, which processes to charge CPU to, its memory.
import type { CpuSplit } from './proc.js';

export interface Target {
  readonly name: string;
  readonly port: number;
  /** Processes whose utime+stime is charged to the server (read at each sample). */
  cpuPids(): number[];
  /** Our proxy only: its CPU seconds so far by thread group (main / shards / other). */
  cpuSplit?(): CpuSplit | undefined;
  /** Peak memory in kB: VmHWM for a single process, the current sum of PSS for a process family. */
  memoryKb(): number;
  /** Current memory in kB: VmRSS for a single process, the sum of PSS for a process family. */
  currentMemoryKb(): number;
  stop(): Promise<void>;
}

export interface BenchUser { username: string; password: string }

/** u0000..u(n-1) with distinct passwords. */
export function benchUsers(n: number): BenchUser[] {
  return Array.from({ length: n }, (_, i) => {
    const username = `u${String(i).padStart(4, '0')}`;
    return { username, password: `pw-${username}` };
  });
}
