// Ours vs Kamailio from two sweeps of one run: highest sustainable rate of each, and CPU per 1000
// (and setup latency, memory) at the highest rate both sustained, with ratios ours/kamailio; our
// CPU there split by thread group (main thread / shards / other), the profile's first question.
// With repeated runs of a rate (--repeat), each figure is the median run's, with the range beside it.
import type { CpuSplit } from './proc.js';
import type { StepResult } from './load-step.js';
import { fmt, mdTable, type Cell } from './results.js';
import { bestText, latencyCell, type SweepOutcome } from './sweep.js';

/** The summary table's headers; `oursName` names our column (a run of several of our configs names each). */
export function summaryHeaders(oursName = 'sipshard'): string[] {
  return ['', oursName, 'kamailio', 'ratio ours/kamailio'];
}

export function summarize(ours: SweepOutcome, kam: SweepOutcome, rateUnit: string, cpuUnit: string, oursName = 'sipshard'):
  { rows: Cell[][]; lines: string[]; data: Record<string, number> } {
  // CPU is compared at a rate of the --rates list both ran (--refine's rates differ per target)
  const common = Math.min(ours.gridBest, kam.gridBest);
  const oursRuns = ours.steps.filter((s) => s.rate === common);
  const kamRuns = kam.steps.filter((s) => s.rate === common);
  // the run with the median CPU among those at the common rate (the lower middle of an even count)
  const a = medianRun(oursRuns);
  const b = medianRun(kamRuns);
  const cpuCell = (runs: readonly StepResult[], s: StepResult | undefined): string => `${fmt(s?.cpuPer1000 ?? NaN, 3)}${rangeNote(runs)}`;
  const lowest = Math.min(...[...ours.steps, ...kam.steps].map((x) => x.rate));
  // a target that failed the lowest rate tried sustained none of them: said so, not "0/s"
  const withFailure = (o: SweepOutcome): SweepOutcome => (o.best === 0 && o.failedAt === undefined ? { ...o, failedAt: lowest } : o);
  const best = (o: SweepOutcome): string => bestText(withFailure(o));
  const bestIn = (o: SweepOutcome): string => bestText(withFailure(o), rateUnit);
  const rateRatio = (): string => (ours.atTopRate && kam.atTopRate ? 'n/a (both passed every rate)'
    : ours.best === 0 && kam.best === 0 ? '-'
      : kam.best === 0 ? `> ${fmt(ours.best / lowest, 2)} (kamailio sustained no rate tried)`
        : ours.best === 0 ? `< ${fmt(lowest / kam.best, 2)} (${oursName} sustained no rate tried)`
          : `${kam.atTopRate ? '<= ' : ours.atTopRate ? '>= ' : ''}${ratio(ours.best, kam.best)}`);
  const ratio = (x: number | undefined, y: number | undefined): string => (x !== undefined && y !== undefined && y > 0 ? fmt(x / y, 2) : '-');
  const split = per1000Split(a);
  const splitText = split === undefined ? '-' : `${fmt(split.main, 3)} / ${fmt(split.shards, 3)} / ${fmt(split.other, 3)}`;
  const rows: Cell[][] = [
    [`highest sustainable ${rateUnit}`, best(ours), best(kam), rateRatio()],
    [`${cpuUnit} at ${common}/s`, cpuCell(oursRuns, a), cpuCell(kamRuns, b), ratio(a?.cpuPer1000, b?.cpuPer1000)],
    [`${cpuUnit} by thread, main / shards / other`, splitText, '-', ''],
    [`p50 / p99 ms at ${common}/s`, a ? latencyCell(a, ' / ') : '-', b ? latencyCell(b, ' / ') : '-', ''],
    [`memory MB at ${common}/s (ours VmHWM, Kamailio sum of PSS)`, fmt(a?.memMb ?? NaN, 0), fmt(b?.memMb ?? NaN, 0), ratio(a?.memMb, b?.memMb)],
  ];
  const lines = [
    `highest sustainable rate: ${oursName} ${bestIn(ours)}, kamailio ${bestIn(kam)} ` +
      `(ratio ours/kamailio ${rateRatio()}; '>=' marks a target that passed the highest rate tried)`,
    ...(common === 0 ? [`${cpuUnit}: not compared, no rate tried was sustained by both (try lower --rates)`] : [
      `${cpuUnit} at ${common}/s: ${oursName} ${cpuCell(oursRuns, a)}, kamailio ${cpuCell(kamRuns, b)} (ratio ours/kamailio ${ratio(a?.cpuPer1000, b?.cpuPer1000)})`,
      `${oursName} ${cpuUnit} at ${common}/s by thread, main / shards / other: ${splitText}`,
    ]),
  ];
  if (common === 0) rows.splice(1, rows.length - 1, [`${cpuUnit}`, 'not compared: no rate tried was sustained by both', '', '']);
  return {
    rows, lines,
    data: { oursBest: ours.best, kamailioBest: kam.best, commonRate: common,
      oursCpuPer1000: a?.cpuPer1000 ?? NaN, kamailioCpuPer1000: b?.cpuPer1000 ?? NaN,
      ...(split === undefined ? {} : { oursMainPer1000: split.main, oursShardsPer1000: split.shards, oursOtherPer1000: split.other }) },
  };
}

/**
 * Each of our sweeps against Kamailio's, as printed lines, JSON figures and a markdown table with
 * its lines: one config's column is 'sipshard'; several (--workers 1,0) are each named by their target.
 */
export function summarizeEach(ours: readonly SweepOutcome[], kam: SweepOutcome, rateUnit: string, cpuUnit: string):
  Array<{ lines: string[]; data: Record<string, number>; markdown: string }> {
  return ours.map((r) => {
    const name = ours.length > 1 ? r.target : undefined;
    const s = summarize(r, kam, rateUnit, cpuUnit, name);
    return { lines: s.lines, data: s.data, markdown: `${mdTable(summaryHeaders(name), s.rows)}\n\n${s.lines.join('\n\n')}` };
  });
}

/** A step's CPU split per 1000 successful calls (or registrations). */
function per1000Split(s: StepResult | undefined): CpuSplit | undefined {
  if (s?.cpuSplitS === undefined || !(s.successful > 0)) return undefined;
  const k = 1000 / s.successful;
  return { main: s.cpuSplitS.main * k, shards: s.cpuSplitS.shards * k, other: s.cpuSplitS.other * k };
}

/** The run whose CPU per 1000 is the median (the lower middle of an even count). */
export function medianRun(runs: readonly StepResult[]): StepResult | undefined {
  const sorted = [...runs].sort((x, y) => x.cpuPer1000 - y.cpuPer1000);
  return sorted[Math.floor((sorted.length - 1) / 2)];
}

/** ' (min-max of N runs)' when a rate ran more than once, else nothing. */
function rangeNote(runs: readonly StepResult[]): string {
  if (runs.length < 2) return '';
  const cpu = runs.map((r) => r.cpuPer1000);
  return ` (${fmt(Math.min(...cpu), 3)}-${fmt(Math.max(...cpu), 3)} of ${runs.length} runs)`;
}
