// Rate sweeps: run steps at rising rates until one is not sustainable; with several targets the
// steps alternate (target A at rate r, target B at rate r, then the next rate). With --refine N,
// each target that failed a rate then bisects between its last sustained rate and the first it
// failed, N times: the highest sustainable rate to within a step of the bisection, not of --rates.
import { sleep } from './child.js';
import { unsustainable, type StepResult, type StepSpec } from './load-step.js';
import { fmt, type Cell } from './results.js';
import type { Target } from './target.js';
import type { CpuSplit } from './proc.js';
import { runStep } from './load-step.js';

export interface SweepOutcome {
  target: string;
  steps: (StepResult & { verdict: string })[];
  /** Highest sustainable rate (the bisection's, with --refine), 0 when none was. */
  best: number;
  /** Highest sustainable rate of the --rates list: the rate two targets' CPU is compared at. */
  gridBest: number;
  /** Lowest rate that failed (undefined when none did). */
  failedAt?: number;
  /** True when even the last rate tried was sustainable: the limit lies higher (or in the load generator). */
  atTopRate: boolean;
}

/** The step options of the benches that run targets side by side at a list of rates (parseArgs form). */
export const STEP_ARGS = {
  /** seconds of sipp load per step */
  duration: { type: 'string', default: '10' },
  /** runs of each rate (parseRepeat) */
  repeat: { type: 'string', default: '1' },
} as const;

/** --repeat's value: a whole number of runs per rate, 1 or more (exits with a message otherwise). */
export function parseRepeat(s: string): number {
  return wholeNumberOption('--repeat', s, 1, 20, 'runs of each rate');
}

/** --refine's value: bisection steps after the first failed rate, 0 (none) to 10. */
export function parseRefine(s: string): number {
  return wholeNumberOption('--refine', s, 0, 10, 'bisection steps between the last sustained and the first failed rate');
}

/** A whole-number option within [min, max]; anything else: what was wrong, exit 2. */
function wholeNumberOption(name: string, s: string, min: number, max: number, meaning: string): number {
  const n = Number(s);
  if (Number.isInteger(n) && n >= min && n <= max) return n;
  process.stderr.write(`${name}: got ${JSON.stringify(s)}, allowed: a whole number ${min}..${max} (${meaning})\n`);
  process.exit(2);
}

export function parseRates(s: string): number[] {
  return s.split(',').map((x) => Number(x.trim())).filter((n) => Number.isFinite(n) && n > 0);
}

/**
 * The rate halfway between a sustained `lo` and a failed `hi`, rounded to a tenth of the gap's order
 * of magnitude (3000..3500 -> 3250, 3250..3500 -> 3380); undefined once the gap is under 1% of `hi`
 * (below what a run's noise can tell apart) or no whole rate lies between.
 */
export function midRate(lo: number, hi: number): number | undefined {
  const gap = hi - lo;
  if (gap < Math.max(2, hi / 100)) return undefined;
  const unit = Math.max(1, 10 ** (Math.floor(Math.log10(gap)) - 1));
  const mid = Math.round((lo + hi) / 2 / unit) * unit;
  return mid > lo && mid < hi ? mid : undefined;
}

export interface SweepOptions {
  /** pause after each step, ms (default 5,000: sipp's sockets and the targets' timers settle) */
  pauseMs?: number;
  /** runs of each rate (default 1) */
  repeat?: number;
  /** bisection steps after a target's first failed rate (default 0) */
  refine?: number;
  /** the step runner (default runStep; tests pass their own) */
  run?: (target: Target, spec: StepSpec) => Promise<StepResult>;
  /** where each step's line goes (default stdout) */
  print?: (line: string) => void;
}

/**
 * `spec` gives each target's step at a rate (bench:floor loads echo servers and registrars apart).
 * `repeat` runs each rate that many times (targets alternating within each round): a rate counts
 * as sustained only when every run of it was, and the summaries take the median of its runs.
 * `refine` bisection steps follow for each target that failed a rate, each of `repeat` runs, the
 * targets alternating.
 */
export async function sweep(targets: readonly Target[], rates: readonly number[], spec: (rate: number, target: Target) => StepSpec,
  opts: SweepOptions = {}): Promise<SweepOutcome[]> {
  const { pauseMs = 5000, repeat = 1, refine = 0, run = runStep } = opts;
  const print = opts.print ?? ((line: string): void => { process.stdout.write(`${line}\n`); });
  const top = rates[rates.length - 1];
  // a target that failed a rate (failedAt set) runs no more of the list
  const all: SweepOutcome[] = targets.map((t) => ({ target: t.name, steps: [], best: 0, gridBest: 0, atTopRate: false }));
  /** one run of `rate` on target i; true when sustained */
  const step = async (i: number, rate: number): Promise<boolean> => {
    const r = await run(targets[i]!, spec(rate, targets[i]!));
    const why = unsustainable(r);
    all[i]!.steps.push({ ...r, verdict: why === '' ? 'ok' : why });
    print(`${stepLine(r)}  ${why === '' ? 'ok' : `NOT sustainable: ${why}`}` +
      `${r.traces === undefined ? '' : `  (sipp traces: ${r.traces})`}`);
    await sleep(pauseMs);
    return why === '';
  };
  for (const rate of rates) {
    for (let round = 0; round < repeat; round++) {
      for (const [i, o] of all.entries()) {
        if (o.failedAt !== undefined) continue;
        if (!(await step(i, rate))) o.failedAt = rate;
        else if (round === repeat - 1) o.best = o.gridBest = rate;
      }
    }
    if (all.every((o) => o.failedAt !== undefined)) break;
  }
  for (let k = 0; k < refine; k++) {
    // this step's rate for each target still bisecting
    const mids = all.map((o) => (o.failedAt === undefined ? undefined : midRate(o.best, o.failedAt)));
    if (mids.every((m) => m === undefined)) break;
    const failed = all.map(() => false);
    for (let round = 0; round < repeat; round++) {
      for (const [i, mid] of mids.entries()) if (mid !== undefined && !failed[i] && !(await step(i, mid))) failed[i] = true;
    }
    for (const [i, mid] of mids.entries()) {
      if (mid === undefined) continue;
      if (failed[i]) all[i]!.failedAt = mid;
      else all[i]!.best = mid;
    }
  }
  return all.map((o) => ({ ...o, atTopRate: o.failedAt === undefined && o.best === top }));
}

/** A sweep's highest sustainable rate as a line says it: '3250 calls/s (3380 failed)', '>= 3500
 *  calls/s', 'none (failed 200 calls/s)'; without a unit as a table cell says it: '3250 (3380
 *  failed)', '>= 3500', 'none (failed 200/s)'. */
export function bestText(o: SweepOutcome, unit?: string): string {
  const rate = (r: number): string => (unit === undefined ? `${r}` : `${r} ${unit}`);
  if (o.best === 0) return `none${o.failedAt === undefined ? '' : ` (failed ${unit === undefined ? `${o.failedAt}/s` : rate(o.failedAt)})`}`;
  return `${o.atTopRate ? '>= ' : ''}${rate(o.best)}${o.failedAt === undefined ? '' : ` (${o.failedAt} failed)`}`;
}

export function stepLine(r: StepResult): string {
  return `${r.target.padEnd(24)} rate ${String(r.rate).padStart(5)}/s: ${r.successful}/${r.attempted} ok, ${r.failed} failed, ` +
    `retrans ${r.retransUac}+${r.retransUas} (${fmt(r.retransPct, 2)}%), achieved ${fmt(r.achievedRate, 0)}/s, ` +
    `p50/p99 ${latencyCell(r)} ms, CPU ${fmt(r.cpuPer1000, 3)} s/1000${r.cpuSplitS ? ` (${splitCell(r.cpuSplitS)} s)` : ''}, mem ${fmt(r.memMb, 0)} MB, load ${fmt(r.loadAvg)}`;
}

export const STEP_HEADERS = ['target', 'rate/s', 'achieved/s', 'attempted', 'successful', 'failed', 'retrans uac+uas (%)',
  'setup p50/p99 ms', 'CPU s/1000', 'CPU s main/shards/other', 'mem MB', 'machine load', 'verdict'];

export function stepRow(r: StepResult & { verdict?: string }): Cell[] {
  return [r.target, r.rate, fmt(r.achievedRate, 0), r.attempted, r.successful, r.failed,
    `${r.retransUac}+${r.retransUas} (${fmt(r.retransPct, 2)})`, latencyCell(r), fmt(r.cpuPer1000, 3), r.cpuSplitS ? splitCell(r.cpuSplitS) : '-', fmt(r.memMb, 0),
    fmt(r.loadAvg), r.verdict ?? ''];
}

/** 'p50/p99' setup ms in whole ms: sipp's rtt records carry a fraction (164.001) its clock cannot resolve. */
export function latencyCell(r: Pick<StepResult, 'p50Ms' | 'p99Ms'>, sep = '/'): string {
  return `${fmt(r.p50Ms, 0)}${sep}${fmt(r.p99Ms, 0)}`;
}

/** 'main/shards/other' CPU seconds of a step, e.g. '4.10/6.32/0.85'. */
export function splitCell(s: CpuSplit): string {
  return `${fmt(s.main, 2)}/${fmt(s.shards, 2)}/${fmt(s.other, 2)}`;
}
