// One bounded load step against a target: start the sipp UAS (for calls), run the sipp UAC at a
// rate for a duration, charge the target's CPU over the UAC's run, then read both sipp's stats.
import { rmSync } from 'node:fs';
import { loadavg } from 'node:os';
import { freeUdpPort } from './net.js';
import { cpuSecondsOf, cpuSplitDelta, type CpuSplit } from './proc.js';
import { percentile, readSippStats, startSipp, type SippProcess } from './sipp.js';
import { sleep } from './child.js';
import type { Target } from './target.js';

export interface StepSpec {
  rate: number;
  durationS: number;
  /** UAC scenario options ('-sn uac -s 9000 -d 1000' ...); the runner adds rate, count, ports. */
  uacArgs: string[];
  /** Seconds a call may outlive its launch (call hold + teardown + retransmission tail). */
  tailS: number;
  /** The UAS port the target routes to, when the scenario needs a UAS. */
  uasPort?: number;
  /** Messages sipp itself originates per call (both sides), the base of the retransmission ratio. */
  messagesPerCall: number;
  /** Concurrent call limit for the UAC (-l). */
  limit: number;
  /**
   * The UAC's own port, the same in every step, where the scenario's Contact carries it
   * (REGISTER): a new port per step gave each user one more contact per step, so a step's cost
   * depended on how many steps ran before it. Default: a free port per step.
   */
  uacPort?: number;
}

export interface StepResult {
  target: string;
  rate: number;
  planned: number;
  attempted: number;
  successful: number;
  failed: number;
  retransUac: number;
  retransUas: number;
  /** (retransUac + retransUas) / (attempted * messagesPerCall), in %. */
  retransPct: number;
  failedPct: number;
  /** Calls per second sipp actually launched (spread of the rtd samples). */
  achievedRate: number;
  p50Ms: number;
  p99Ms: number;
  cpuS: number;
  cpuPer1000: number;
  /** cpuS by thread group of our proxy (main / shards / other), when the target can tell */
  cpuSplitS?: CpuSplit;
  memMb: number;
  /** 1-minute load average of the machine when the step ended (the machine is shared). */
  loadAvg: number;
  /** sipp's working dirs (stat CSV, -trace_err log), kept only when something went wrong. */
  traces?: string;
}

export async function runStep(target: Target, s: StepSpec): Promise<StepResult> {
  const planned = Math.round(s.rate * s.durationS);
  const timeoutS = Math.ceil(s.durationS * 1.5 + s.tailS + 10);
  let uas: SippProcess | undefined;
  let uac: SippProcess | undefined;
  try {
    if (s.uasPort !== undefined) {
      // no -m: stray requests of an earlier step (a server's retransmissions to this port) would
      // count as calls and make the UAS stop early; it is stopped once the UAC is done instead
      uas = startSipp('uas', ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(s.uasPort)], timeoutS + 5);
      await sleep(300);
    }
    const uacPort = s.uacPort ?? await freeUdpPort();
    const cpu0 = cpuSecondsOf(target.cpuPids());
    const split0 = target.cpuSplit?.();
    uac = startSipp('uac', [...s.uacArgs, '-i', '127.0.0.1', '-p', String(uacPort), '-r', String(s.rate), '-m', String(planned),
      '-l', String(s.limit), '-recv_timeout', '10000', '-max_socket', '1024', '-trace_rtt', '-rtt_freq', '1',
      `127.0.0.1:${target.port}`], timeoutS, { failOnTimeout: true });
    await uac.exited;
    const cpuS = cpuSecondsOf(target.cpuPids()) - cpu0;
    const cpuSplitS = cpuSplitDelta(split0, target.cpuSplit?.());
    if (uas !== undefined) await sleep(1000); // the UAS's last stat dump (-fd 1) after the last BYE
    const memMb = target.memoryKb() / 1024;
    await uas?.stop();
    const a = readSippStats(uac.dir);
    const b = uas === undefined ? undefined : readSippStats(uas.dir);
    const attempted = a.created;
    const retransUas = b?.retransmissions ?? 0;
    const clean = a.failed === 0 && a.retransmissions + retransUas === 0 && attempted === planned;
    if (clean) for (const d of [uac.dir, uas?.dir]) if (d !== undefined) rmSync(d, { recursive: true, force: true });
    const window = (a.rttLastAtMs - a.rttFirstAtMs) / 1000 + 1 / s.rate;
    return {
      target: target.name, rate: s.rate, planned, attempted, successful: a.successful, failed: a.failed,
      retransUac: a.retransmissions, retransUas,
      retransPct: attempted > 0 ? ((a.retransmissions + retransUas) / (attempted * s.messagesPerCall)) * 100 : 0,
      failedPct: attempted > 0 ? ((attempted - a.successful) / attempted) * 100 : 100,
      achievedRate: a.rttMs.length > 1 ? a.rttMs.length / window : 0,
      p50Ms: percentile(a.rttMs, 50), p99Ms: percentile(a.rttMs, 99),
      cpuS, cpuPer1000: a.successful > 0 ? (cpuS / a.successful) * 1000 : NaN, cpuSplitS, memMb, loadAvg: loadavg()[0]!,
      traces: clean ? undefined : [uac.dir, uas?.dir].filter((d) => d !== undefined).join(' '),
    };
  } finally {
    await uac?.stop();
    await uas?.stop();
  }
}

/** The sustainability rule of the sweeps (README "Performance"). */
export const SUSTAINABLE = { maxFailedPct: 0.1, maxRetransPct: 0.5, minAchievedShare: 0.95 } as const;

/** '' when the step is sustainable, else why not. */
export function unsustainable(r: StepResult): string {
  const why: string[] = [];
  if (r.failedPct >= SUSTAINABLE.maxFailedPct) why.push(`${r.failedPct.toFixed(2)}% failed`);
  if (r.retransPct >= SUSTAINABLE.maxRetransPct) why.push(`${r.retransPct.toFixed(2)}% retransmitted`);
  if (r.achievedRate < r.rate * SUSTAINABLE.minAchievedShare) why.push(`sipp reached ${r.achievedRate.toFixed(0)}/s`);
  return why.join(', ');
}
