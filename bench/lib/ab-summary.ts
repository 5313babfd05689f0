// The figures of an A/B run (bench/ab.ts): our proxy's steps read from each run's result JSON, and
// per rate the median of each side with B against A. The shards' CPU relative to the main thread's
// is given beside CPU per 1,000: the main thread's work rarely changes between two builds, so that
// ratio cancels much of what a shared machine adds to both.
import { median } from './stats.js';

export interface AbStep {
  rate: number;
  cpuPer1000: number;
  /** CPU seconds by thread over the step; absent in result files of builds that did not split it */
  split: { main: number; shards: number; other: number } | undefined;
  verdict: string;
}

export interface AbRun {
  side: 'A' | 'B';
  pair: number;
  steps: AbStep[];
}

/** Every step of our proxy in a bench's result data (calls, register, compare: any nesting). */
export function ourSteps(data: unknown): AbStep[] {
  const out: AbStep[] = [];
  const walk = (v: unknown): void => {
    if (Array.isArray(v)) { for (const x of v) walk(x); return; }
    if (v === null || typeof v !== 'object') return;
    const o = v as Record<string, unknown>;
    if (typeof o.target === 'string' && o.target.startsWith('sipshard') && typeof o.rate === 'number' && typeof o.cpuPer1000 === 'number') {
      const s = o.cpuSplitS as Record<string, unknown> | undefined;
      const split = s !== undefined && typeof s.main === 'number' && typeof s.shards === 'number' && typeof s.other === 'number'
        ? { main: s.main, shards: s.shards, other: s.other } : undefined;
      out.push({ rate: o.rate, cpuPer1000: o.cpuPer1000, split, verdict: typeof o.verdict === 'string' ? o.verdict : '' });
      return;
    }
    for (const x of Object.values(o)) walk(x);
  };
  walk(data);
  return out;
}

/** Shard CPU / main-thread CPU of a step, when split and the main thread did any work. */
export function shardToMain(step: AbStep): number | undefined {
  return step.split !== undefined && step.split.main > 0 ? step.split.shards / step.split.main : undefined;
}

export interface AbRateSummary {
  rate: number;
  a: { cpuPer1000: number[]; shardToMain: number[] };
  b: { cpuPer1000: number[]; shardToMain: number[] };
  /** median B / median A; undefined when a side has no figure */
  cpuRatio: number | undefined;
  shardToMainRatio: number | undefined;
}

/** Per rate (ascending): each side's figures in run order and B's medians against A's. */
export function summarize(runs: readonly AbRun[]): AbRateSummary[] {
  const byRate = new Map<number, AbRateSummary>();
  for (const run of runs) {
    for (const step of run.steps) {
      let r = byRate.get(step.rate);
      if (r === undefined) {
        r = { rate: step.rate, a: { cpuPer1000: [], shardToMain: [] }, b: { cpuPer1000: [], shardToMain: [] }, cpuRatio: undefined, shardToMainRatio: undefined };
        byRate.set(step.rate, r);
      }
      const side = run.side === 'A' ? r.a : r.b;
      side.cpuPer1000.push(step.cpuPer1000);
      const stm = shardToMain(step);
      if (stm !== undefined) side.shardToMain.push(stm);
    }
  }
  const ratio = (b: number, a: number): number | undefined => (a > 0 && Number.isFinite(a) && Number.isFinite(b) ? b / a : undefined);
  return [...byRate.values()].sort((x, y) => x.rate - y.rate).map((r) => ({
    ...r,
    cpuRatio: ratio(median(r.b.cpuPer1000), median(r.a.cpuPer1000)),
    shardToMainRatio: ratio(median(r.b.shardToMain), median(r.a.shardToMain)),
  }));
}
