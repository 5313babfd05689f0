// bench/ab.ts's figures: our proxy's steps found in any bench's result data, and per rate each
// side's runs with B's medians against A's (CPU per 1,000 and shards / main thread).
import t from 'tap';
import { ourSteps, shardToMain, summarize, type AbRun } from '../../bench/lib/ab-summary.js';
import { median } from '../../bench/lib/stats.js';

const step = (target: string, rate: number, cpuPer1000: number, split?: [number, number, number]) => ({
  target, rate, cpuPer1000, verdict: 'ok', ...(split === undefined ? {} : { cpuSplitS: { main: split[0], shards: split[1], other: split[2] } }),
});

t.test('steps of our proxy from a calls result (one step) and a register result (sweeps with Kamailio)', async (t) => {
  const calls = { workers: 1, step: step('sipshard (1 workers)', 3500, 0.16, [2.4, 3.0, 0.9]) };
  t.same(ourSteps(calls), [{ rate: 3500, cpuPer1000: 0.16, split: { main: 2.4, shards: 3.0, other: 0.9 }, verdict: 'ok' }]);
  const register = {
    sweeps: [
      { target: 'kamailio (2 children)', steps: [step('kamailio (2 children)', 8000, 0.024)] },
      { target: 'sipshard (1 workers)', steps: [step('sipshard (1 workers)', 8000, 0.057, [1.4, 2.4, 0.8]), step('sipshard (1 workers)', 12000, 0.061)] },
    ],
    summary: { rate: 12000 },
  };
  const found = ourSteps(register);
  t.same(found.map((s) => [s.rate, s.cpuPer1000]), [[8000, 0.057], [12000, 0.061]], 'Kamailio left out');
  t.equal(found[1]!.split, undefined, 'a step without the thread split');
  t.equal(shardToMain(found[0]!)!.toFixed(3), (2.4 / 1.4).toFixed(3));
  t.equal(shardToMain(found[1]!), undefined);
});

t.test('per rate: runs in order, B / A of the medians', async (t) => {
  const runs: AbRun[] = [
    { side: 'A', pair: 1, steps: [{ rate: 3500, cpuPer1000: 0.17, split: { main: 2, shards: 3, other: 1 }, verdict: 'ok' }] },
    { side: 'B', pair: 1, steps: [{ rate: 3500, cpuPer1000: 0.15, split: { main: 2, shards: 2.5, other: 1 }, verdict: 'ok' }] },
    { side: 'A', pair: 2, steps: [{ rate: 3500, cpuPer1000: 0.16, split: { main: 2, shards: 2.8, other: 1 }, verdict: 'ok' }] },
    { side: 'B', pair: 2, steps: [{ rate: 3500, cpuPer1000: 0.16, split: { main: 2, shards: 2.6, other: 1 }, verdict: 'ok' }, { rate: 4500, cpuPer1000: 0.2, split: undefined, verdict: 'ok' }] },
  ];
  const [r3500, r4500] = summarize(runs);
  t.same(r3500!.a.cpuPer1000, [0.17, 0.16]);
  t.same(r3500!.b.cpuPer1000, [0.15, 0.16]);
  t.equal(r3500!.cpuRatio!.toFixed(4), (0.155 / 0.165).toFixed(4));
  t.equal(r3500!.shardToMainRatio!.toFixed(4), (1.275 / 1.45).toFixed(4));
  t.equal(r4500!.rate, 4500);
  t.equal(r4500!.cpuRatio, undefined, 'no ratio where A has no run');
});

t.test('median', async (t) => {
  t.equal(median([3, 1, 2]), 2);
  t.equal(median([4, 1, 3, 2]), 2.5);
  t.ok(Number.isNaN(median([])));
});
