// bench:compare / bench:register with --repeat: the summary at the common rate takes each target's
// median run (by CPU per 1,000) and shows the range of the runs.
import t from 'tap';
import { medianRun, summarize } from '../../bench/lib/compare-summary.js';
import type { StepResult } from '../../bench/lib/load-step.js';
import type { SweepOutcome } from '../../bench/lib/sweep.js';

const step = (target: string, rate: number, cpu: number, split?: StepResult['cpuSplitS']): StepResult & { verdict: string } => ({
  target, rate, planned: rate * 10, attempted: rate * 10, successful: rate * 10, failed: 0, retransUac: 0, retransUas: 0, retransPct: 0,
  failedPct: 0, achievedRate: rate, p50Ms: 1, p99Ms: 4, cpuS: rate * 10 * cpu / 1000, cpuPer1000: cpu, memMb: 100, loadAvg: 1, verdict: 'ok',
  ...(split === undefined ? {} : { cpuSplitS: split }),
});
const sweep = (target: string, steps: Array<StepResult & { verdict: string }>, best: number): SweepOutcome => ({ target, steps, best, gridBest: best, atTopRate: false });

t.test('the median run of three at the common rate, with the range', async (t) => {
  const ours = sweep('sipshard', [
    step('sipshard', 1000, 0.5),
    step('sipshard', 2000, 0.36, { main: 2, shards: 4, other: 1.2 }),
    step('sipshard', 2000, 0.30, { main: 1, shards: 4, other: 1 }),
    step('sipshard', 2000, 0.42, { main: 3, shards: 4, other: 1.4 }),
  ], 2000);
  const kam = sweep('kamailio', [step('kamailio', 1000, 0.4), step('kamailio', 2000, 0.33), step('kamailio', 2000, 0.31), step('kamailio', 2000, 0.29)], 2000);
  const s = summarize(ours, kam, 'calls/s', 'CPU s/1000 calls');
  t.same(s.rows[1], ['CPU s/1000 calls at 2000/s', '0.360 (0.300-0.420 of 3 runs)', '0.310 (0.290-0.330 of 3 runs)', '1.16']);
  t.equal(s.data.oursCpuPer1000, 0.36);
  t.equal(s.data.kamailioCpuPer1000, 0.31);
  // the split is the median run's: 2 s main of 20,000 calls
  t.equal(s.data.oursMainPer1000, 0.1);
});

t.test('one run per rate: no range, the figures as before', async (t) => {
  const s = summarize(sweep('sipshard', [step('sipshard', 1000, 0.5)], 1000), sweep('kamailio', [step('kamailio', 1000, 0.25)], 1000), 'calls/s', 'CPU s/1000 calls');
  t.same(s.rows[1], ['CPU s/1000 calls at 1000/s', '0.500', '0.250', '2.00']);
});

t.test('medianRun: the lower middle of an even count, undefined for none', async (t) => {
  t.equal(medianRun([step('x', 1, 0.4), step('x', 1, 0.1), step('x', 1, 0.3), step('x', 1, 0.2)])?.cpuPer1000, 0.2);
  t.equal(medianRun([]), undefined);
});
