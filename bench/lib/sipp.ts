// Runs sipp (bounded, in its own temp dir) and reads what it recorded: the final line of the
// -trace_stat CSV (calls created / successful / failed, Retransmissions(C)) and the -trace_rtt
// response times of rtd 1 (for the built-in uac: INVITE sent -> 200 received).
import { mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBounded, type Bounded } from './child.js';

export const SIPP = process.env.SIPP ?? '/usr/bin/sipp';

export interface SippStats {
  created: number;
  successful: number;
  failed: number;
  retransmissions: number;
  /** rtd 1 response times in ms, in the order sipp recorded them. */
  rttMs: number[];
  /** sipp's clock (ms since its start) of the first and last rtd 1 sample. */
  rttFirstAtMs: number;
  rttLastAtMs: number;
}

export interface SippProcess extends Bounded {
  readonly dir: string;
}

/** Starts sipp with the common bench options; `timeoutS` is sipp's own global timeout. */
export function startSipp(name: string, args: string[], timeoutS: number, opts: { failOnTimeout?: boolean } = {}): SippProcess {
  const dir = mkdtempSync(join(tmpdir(), `bench-${name}-`));
  const common = ['-nostdin', '-trace_stat', '-fd', '1', '-stf', 'stat.csv', '-trace_err',
    '-buff_size', '4194304', '-timeout', `${timeoutS}s`];
  if (opts.failOnTimeout === true) common.push('-timeout_error');
  const handle = startBounded(name, SIPP, [...args, ...common], (timeoutS + 10) * 1000, { cwd: dir, logFile: join(dir, 'screen.log') });
  return Object.assign(handle, { dir });
}

function lastStatRow(dir: string): Map<string, string> {
  const lines = readFileSync(join(dir, 'stat.csv'), 'latin1').split('\n').filter((l) => l.trim() !== '');
  const head = lines[0]?.split(';') ?? [];
  const last = lines.length > 1 ? lines[lines.length - 1]!.split(';') : [];
  return new Map(head.map((h, i) => [h, last[i] ?? '0']));
}

export function readSippStats(dir: string): SippStats {
  let row = new Map<string, string>();
  try { row = lastStatRow(dir); } catch { /* sipp died before its first dump */ }
  const num = (k: string): number => Number(row.get(k) ?? 0) || 0;
  const rttMs: number[] = [];
  let first = Infinity;
  let last = -Infinity;
  for (const f of readdirSync(dir).filter((n) => n.endsWith('_rtt.csv'))) {
    for (const line of readFileSync(join(dir, f), 'latin1').split('\n')) {
      const [at, ms, rtd] = line.split(';');
      if (rtd?.trim() !== '1') continue;
      const t = Number(at);
      rttMs.push(Number(ms));
      if (t < first) first = t;
      if (t > last) last = t;
    }
  }
  return {
    created: num('TotalCallCreated') || num('IncomingCall(C)'),
    successful: num('SuccessfulCall(C)'),
    failed: num('FailedCall(C)'),
    retransmissions: num('Retransmissions(C)'),
    rttMs, rttFirstAtMs: Number.isFinite(first) ? first : 0, rttLastAtMs: Number.isFinite(last) ? last : 0,
  };
}

/** Nearest-rank percentile (p in 0..100) of unsorted values; NaN when empty. */
export function percentile(values: readonly number[], p: number): number {
  if (values.length === 0) return NaN;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1))]!;
}
