// bench:compare / bench:register summaries give our CPU per 1,000 at the common rate split by
// thread group (bench/lib/compare-summary.ts), from the steps' cpuSplitS.
import t from 'tap';
import { summarize, summarizeEach, summaryHeaders } from '../../bench/lib/compare-summary.js';
import type { StepResult } from '../../bench/lib/load-step.js';
import type { SweepOutcome } from '../../bench/lib/sweep.js';
import { stepRow, STEP_HEADERS } from '../../bench/lib/sweep.js';

const step = (target: string, rate: number, extra: Partial<StepResult> = {}): StepResult & { verdict: string } => ({
  target, rate, planned: rate * 10, attempted: rate * 10, successful: rate * 10, failed: 0, retransUac: 0, retransUas: 0, retransPct: 0,
  failedPct: 0, achievedRate: rate, p50Ms: 1, p99Ms: 4, cpuS: rate * 10 * 0.0004, cpuPer1000: 0.4, memMb: 100, loadAvg: 1, verdict: 'ok', ...extra,
});
const sweep = (target: string, steps: Array<StepResult & { verdict: string }>, best: number): SweepOutcome => ({ target, steps, best, gridBest: best, atTopRate: false });

t.test('our CPU per 1,000 at the common rate, by thread group', async (t) => {
  // 20,000 calls at 2,000/s: 2 s main, 5 s shards, 1 s other
  const ours = sweep('sipshard', [step('sipshard', 1000), step('sipshard', 2000, { cpuSplitS: { main: 2, shards: 5, other: 1 } })], 2000);
  const kam = sweep('kamailio', [step('kamailio', 1000), step('kamailio', 2000)], 2000);
  const s = summarize(ours, kam, 'calls/s', 'CPU s/1000 calls');
  t.same(s.rows.find((r) => String(r[0]).includes('by thread')), ['CPU s/1000 calls by thread, main / shards / other', '0.100 / 0.250 / 0.050', '-', '']);
  t.match(s.lines.join('\n'), 'sipshard CPU s/1000 calls at 2000/s by thread, main / shards / other: 0.100 / 0.250 / 0.050');
  t.match(s.data, { oursMainPer1000: 0.1, oursShardsPer1000: 0.25, oursOtherPer1000: 0.05 });
});

t.test('a step without a split (Kamailio, or a target that cannot tell) shows a dash', async (t) => {
  const s = summarize(sweep('sipshard', [step('sipshard', 1000)], 1000), sweep('kamailio', [step('kamailio', 1000)], 1000), 'calls/s', 'CPU s/1000 calls');
  t.equal(s.rows.find((r) => String(r[0]).includes('by thread'))![1], '-');
  t.notOk('oursMainPer1000' in s.data);
  const col = STEP_HEADERS.indexOf('CPU s main/shards/other');
  t.equal(stepRow(step('kamailio', 1000))[col], '-');
  t.equal(stepRow(step('sipshard', 1000, { cpuSplitS: { main: 1.5, shards: 3.25, other: 0.5 } }))[col], '1.50/3.25/0.50');
});

t.test('a target that failed the lowest rate tried: "none", a bounded rate ratio, CPU not compared', async (t) => {
  const failed = (target: string, rate: number): StepResult & { verdict: string } => ({ ...step(target, rate, { failed: rate, failedPct: 10 }), verdict: 'NOT sustainable' });
  const ours = sweep('sipshard', [step('sipshard', 4000), step('sipshard', 4500), failed('sipshard', 5000)], 4500);
  const kam = sweep('kamailio', [failed('kamailio', 4000)], 0);
  const s = summarize(ours, kam, 'calls/s', 'CPU s/1000 calls');
  t.same(s.rows[0], ['highest sustainable calls/s', '4500', 'none (failed 4000/s)', '> 1.13 (kamailio sustained no rate tried)']);
  t.same(s.rows.slice(1), [['CPU s/1000 calls', 'not compared: no rate tried was sustained by both', '', '']]);
  t.notMatch(s.lines.join('\n'), /at 0\/s/, 'no "at 0/s" figures');
  t.match(s.lines.join('\n'), /not compared, no rate tried was sustained by both/);
  t.match(s.lines[0], /^highest sustainable rate: sipshard 4500 calls\/s, kamailio none \(failed 4000 calls\/s\) /);
  const mirrored = summarize(sweep('sipshard', [failed('sipshard', 4000)], 0), sweep('kamailio', [step('kamailio', 4000), step('kamailio', 5000)], 5000), 'calls/s', 'CPU s/1000 calls');
  t.equal(mirrored.rows[0]![3], '< 0.80 (sipshard sustained no rate tried)');
});

t.test('a summary for one of several of our configs names it in its column and lines', async (t) => {
  const name = 'sipshard (0 workers: shard on the main thread)';
  const s = summarize(sweep(name, [step(name, 1000)], 1000), sweep('kamailio', [step('kamailio', 1000)], 1000), 'calls/s', 'CPU s/1000 calls', name);
  t.same(summaryHeaders(name), ['', name, 'kamailio', 'ratio ours/kamailio']);
  t.match(s.lines[0], `highest sustainable rate: ${name} 1000`);
  t.match(s.lines[1], `CPU s/1000 calls at 1000/s: ${name} `);
  t.notMatch(s.lines.join('\n'), /sipshard [^(]/, 'no line names the default column');
});

t.test('summarizeEach: one of our configs is the sipshard column, several are each named by their target', async (t) => {
  const kam = sweep('kamailio', [step('kamailio', 1000)], 1000);
  const [one] = summarizeEach([sweep('sipshard (1 workers)', [step('sipshard (1 workers)', 1000)], 1000)], kam, 'calls/s', 'CPU s/1000 calls');
  t.match(one!.markdown, /^\|  \| sipshard \| kamailio \| ratio ours\/kamailio \|/);
  t.match(one!.lines[0], /^highest sustainable rate: sipshard 1000/);
  const names = ['sipshard (1 workers)', 'sipshard (0 workers: shard on the main thread)'];
  const two = summarizeEach(names.map((n) => sweep(n, [step(n, 1000)], 1000)), kam, 'calls/s', 'CPU s/1000 calls');
  t.same(two.map((s) => s.markdown.split('\n')[0]), names.map((n) => `|  | ${n} | kamailio | ratio ours/kamailio |`));
  t.same(two.map((s) => s.data.oursCpuPer1000), [0.4, 0.4], 'each keeps its figures');
});
