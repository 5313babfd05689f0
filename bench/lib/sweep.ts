// Rate sweeps: run steps at rising rates until one is not sustainable; with several targets the
// steps alternate (target A at rate r, target B at rate r, then the next rate).
import { sleep } from './child.js';
import { unsustainable, type StepResult, type StepSpec } from './load-step.js';
import { fmt, type Cell } from './results.js';
import type { Target } from './target.js';
import type { CpuSplit } from './proc.js';
import { runStep } from './load-step.js';

export interface SweepOutcome {
  target: string;
  steps: (StepResult & { verdict: string })[];
  /** Highest sustainable rate, 0 when the first step already failed. */
  best: number;
  /** True when even the last rate tried was sustainable: the limit lies higher (or in the load generator). */
  atTopRate: boolean;
}

/** --repeat's value: a whole number of runs per rate, 1 or more (exits with a message otherwise). */
export function parseRepeat(s: string): number {
  const n = Number(s);
  if (Number.isInteger(n) && n >= 1 && n <= 20) return n;
  process.stderr.write(`--repeat: got ${JSON.stringify(s)}, allowed: a whole number 1..20 (runs of each rate)\n`);
  process.exit(2);
}

export function parseRates(s: string): number[] {
  return s.split(',').map((x) => Number(x.trim())).filter((n) => Number.isFinite(n) && n > 0);
}

/**
 * `repeat` runs each rate that many times (targets alternating within each round): a rate counts
 * as sustained only when every run of it was, and the summaries take the median of its runs.
 */
export async function sweep(targets: readonly Target[], rates: readonly number[], spec: (rate: number) => StepSpec,
  pauseMs = 5000, repeat = 1): Promise<SweepOutcome[]> {
  const out = targets.map((t) => ({ target: t.name, steps: [] as SweepOutcome['steps'], best: 0, done: false }));
  for (const rate of rates) {
    for (let round = 0; round < repeat; round++) {
      for (const [i, t] of targets.entries()) {
        const o = out[i]!;
        if (o.done) continue;
        const r = await runStep(t, spec(rate));
        const why = unsustainable(r);
        o.steps.push({ ...r, verdict: why === '' ? 'ok' : why });
        process.stdout.write(`${stepLine(r)}  ${why === '' ? 'ok' : `NOT sustainable: ${why}`}` +
          `${r.traces === undefined ? '' : `  (sipp traces: ${r.traces})`}\n`);
        if (why !== '') o.done = true;
        else if (round === repeat - 1) o.best = rate;
        await sleep(pauseMs);
      }
    }
    if (out.every((o) => o.done)) break;
  }
  const top = rates[rates.length - 1];
  return out.map(({ done: _done, ...o }) => ({ ...o, atTopRate: o.best === top }));
}

export function stepLine(r: StepResult): string {
  return `${r.target.padEnd(24)} rate ${String(r.rate).padStart(5)}/s: ${r.successful}/${r.attempted} ok, ${r.failed} failed, ` +
    `retrans ${r.retransUac}+${r.retransUas} (${fmt(r.retransPct, 2)}%), achieved ${fmt(r.achievedRate, 0)}/s, ` +
    `p50/p99 ${r.p50Ms}/${r.p99Ms} ms, CPU ${fmt(r.cpuPer1000, 3)} s/1000${r.cpuSplitS ? ` (${splitCell(r.cpuSplitS)} s)` : ''}, mem ${fmt(r.memMb, 0)} MB, load ${fmt(r.loadAvg)}`;
}

export const STEP_HEADERS = ['target', 'rate/s', 'achieved/s', 'attempted', 'successful', 'failed', 'retrans uac+uas (%)',
  'setup p50/p99 ms', 'CPU s/1000', 'CPU s main/shards/other', 'mem MB', 'machine load', 'verdict'];

export function stepRow(r: StepResult & { verdict?: string }): Cell[] {
  return [r.target, r.rate, fmt(r.achievedRate, 0), r.attempted, r.successful, r.failed,
    `${r.retransUac}+${r.retransUas} (${fmt(r.retransPct, 2)})`, `${r.p50Ms}/${r.p99Ms}`, fmt(r.cpuPer1000, 3), r.cpuSplitS ? splitCell(r.cpuSplitS) : '-', fmt(r.memMb, 0),
    fmt(r.loadAvg), r.verdict ?? ''];
}

/** 'main/shards/other' CPU seconds of a step, e.g. '4.10/6.32/0.85'. */
export function splitCell(s: CpuSplit): string {
  return `${fmt(s.main, 2)}/${fmt(s.shards, 2)}/${fmt(s.other, 2)}`;
}
