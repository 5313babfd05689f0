// Rate sweeps with --refine: after the --rates list, each target that failed a rate bisects between
// its last sustained rate and the first it failed. Driven by a step runner that passes a target's
// steps up to a set limit (no sipp, no proxy): the order of the steps, the bisection's rates and the
// outcome are what the bench would run and report.
import t from 'tap';
import type { StepResult, StepSpec } from '../../bench/lib/load-step.js';
import { summarize } from '../../bench/lib/compare-summary.js';
import { bestText, latencyCell, midRate, sweep } from '../../bench/lib/sweep.js';
import type { Target } from '../../bench/lib/target.js';

function target(name: string): Target {
  return { name, port: 0, cpuPids: () => [], memoryKb: () => 0, currentMemoryKb: () => 0, stop: async () => undefined };
}

const spec = (rate: number): StepSpec => ({ rate, durationS: 10, uacArgs: [], tailS: 0, messagesPerCall: 6, limit: 0 });

function result(name: string, rate: number, ok: boolean): StepResult {
  const attempted = rate * 10;
  const failed = ok ? 0 : attempted / 50; // 2%
  return {
    target: name, rate, planned: attempted, attempted, successful: attempted - failed, failed, retransUac: 0, retransUas: 0,
    retransPct: 0, failedPct: (100 * failed) / attempted, achievedRate: rate, p50Ms: 0, p99Ms: 4, cpuS: 1, cpuPer1000: 0.1 + rate / 1e5,
    memMb: 100, loadAvg: 1,
  };
}

/** A runner passing each target's steps up to its limit (and failing the runs listed in `flaky`), logging what ran. */
function runner(limits: Record<string, number>, flaky: Array<[string, number, number]> = []) {
  const log: string[] = [];
  const seen = new Map<string, number>();
  const run = async (tg: Target, s: StepSpec): Promise<StepResult> => {
    const key = `${tg.name}@${s.rate}`;
    const nth = (seen.get(key) ?? 0) + 1;
    seen.set(key, nth);
    log.push(key);
    const failsHere = flaky.some(([n, r, k]) => n === tg.name && r === s.rate && k === nth);
    return result(tg.name, s.rate, s.rate <= limits[tg.name]! && !failsHere);
  };
  return { run, log };
}

/** the sweep's options for a test: no pause, the runner given, its step lines kept */
const quietly = (run: (tg: Target, s: StepSpec) => Promise<StepResult>, repeat: number, refine: number) =>
  ({ pauseMs: 0, repeat, refine, run, print: () => undefined });

t.test('midRate: halfway, rounded to a tenth of the gap, none once the gap is under 1%', async (t) => {
  t.equal(midRate(3000, 3500), 3250);
  t.equal(midRate(3250, 3500), 3380);
  t.equal(midRate(2000, 3000), 2500);
  t.equal(midRate(0, 200), 100);
  t.equal(midRate(3000, 3020), undefined, '20/s of 3,020 is under 1%');
  t.equal(midRate(1, 2), undefined);
});

t.test('two targets: the list, then each bisects its own bracket, the targets alternating', async (t) => {
  const { run, log } = runner({ a: 2600, b: 3700 });
  const [a, b] = await sweep([target('a'), target('b')], [1000, 2000, 3000, 4000], spec, quietly(run, 1, 4));
  t.same(log, [
    'a@1000', 'b@1000', 'a@2000', 'b@2000', 'a@3000', 'b@3000', 'b@4000',
    'a@2500', 'b@3500', 'a@2750', 'b@3750', 'a@2630', 'b@3630', 'a@2570', 'b@3690',
  ]);
  t.match(a, { best: 2570, gridBest: 2000, failedAt: 2630, atTopRate: false });
  t.match(b, { best: 3690, gridBest: 3000, failedAt: 3750, atTopRate: false });
  t.equal(a!.steps.length, 7, 'every run is in the steps (and so in the results table)');
  t.same(a!.steps.map((s) => s.verdict === 'ok'), [true, true, false, true, false, false, true]);
  t.equal(bestText(a!, 'calls/s'), '2570 calls/s (2630 failed)');

  // bench:compare compares CPU at a rate both ran from the list, the bisected rates side by side
  const s = summarize(b!, a!, 'calls/s', 'CPU s/1000 calls');
  t.same(s.rows[0], ['highest sustainable calls/s', '3690 (3750 failed)', '2570 (2630 failed)', '1.44']);
  t.equal(s.data.commonRate, 2000);
  t.match(s.lines[0], /^highest sustainable rate: sipshard 3690 calls\/s \(3750 failed\), kamailio 2570 calls\/s \(2630 failed\) /);
});

t.test('with --repeat a bisected rate holds only if every run of it does; a failed run ends that rate', async (t) => {
  // a's second run at 2500 fails: 2500 counts as failed, and its bracket moves down
  const { run, log } = runner({ a: 2600 }, [['a', 2500, 2]]);
  const [a] = await sweep([target('a')], [2000, 3000], spec, quietly(run, 2, 2));
  t.same(log, ['a@2000', 'a@2000', 'a@3000', 'a@2500', 'a@2500', 'a@2250', 'a@2250']);
  t.match(a, { best: 2250, gridBest: 2000, failedAt: 2500 });
});

t.test('a target that passes every rate is not refined; --refine 0 leaves the list as it was', async (t) => {
  const all = runner({ a: 1e9 });
  const [a] = await sweep([target('a')], [1000, 2000], spec, quietly(all.run, 1, 5));
  t.same(all.log, ['a@1000', 'a@2000']);
  t.match(a, { best: 2000, gridBest: 2000, atTopRate: true });
  t.equal(a!.failedAt, undefined);
  t.equal(bestText(a!, 'calls/s'), '>= 2000 calls/s');

  const none = runner({ a: 1500 });
  const [b] = await sweep([target('a')], [1000, 2000, 3000], spec, quietly(none.run, 1, 0));
  t.same(none.log, ['a@1000', 'a@2000']);
  t.match(b, { best: 1000, failedAt: 2000, atTopRate: false });
});

t.test('a target that failed the lowest rate bisects down from it', async (t) => {
  const { run, log } = runner({ a: 300 });
  const [a] = await sweep([target('a')], [1000, 2000], spec, quietly(run, 1, 3));
  t.same(log, ['a@1000', 'a@500', 'a@250', 'a@380']);
  t.match(a, { best: 250, gridBest: 0, failedAt: 380 });

  const never = runner({ a: 0 });
  const [b] = await sweep([target('a')], [1000], spec, quietly(never.run, 1, 1));
  t.match(b, { best: 0, failedAt: 500 });
  t.equal(bestText(b!, 'calls/s'), 'none (failed 500 calls/s)');
});

t.test('step lines and tables give setup latency in whole ms', async (t) => {
  t.equal(latencyCell({ p50Ms: 164.001, p99Ms: 308 }), '164/308');
  t.equal(latencyCell({ p50Ms: 0, p99Ms: NaN }, ' / '), '0 / -');
  const lines: string[] = [];
  await sweep([target('a')], [1000], spec, { pauseMs: 0, run: async (tg, s) => ({ ...result(tg.name, s.rate, true), p50Ms: 4.002 }), print: (l) => lines.push(l) });
  t.match(lines[0], /p50\/p99 4\/4 ms/);
});
