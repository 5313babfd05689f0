// shard.placement: load, the main thread's decision for new Call-IDs: a budget per load sample
// that follows the main thread's utilization, and a Call-ID once sent to a worker staying with the
// workers for the hold (its retransmissions, CANCEL, the ACK of a non-2xx find no state on the
// main thread and must not start a second transaction there).
import t from 'tap';
import { CallPlacement } from '../../lib/shard/call-placement.js';
import { RecentCallIdFilter } from '../../lib/shard/recent-call-id-filter.js';
import { callIdHash } from '../../lib/shard/hash.js';

const HOLD = 218_000;
const opts = { busyTarget: 0.5, holdMs: HOLD, sampleMs: 100 };
const hashes = (n: number, tag: string): number[] => Array.from({ length: n }, (_, i) => callIdHash(`${i}-${tag}@10.0.0.1`));

t.test('until the workers are ready every new Call-ID stays on the main thread, whatever the budget', async (t) => {
  const p = new CallPlacement(opts);
  const placed = hashes(1000, 'early').map((h) => p.placeOnMain(h, 0));
  t.equal(placed.filter(Boolean).length, 1000);
  t.same(p.stats, { placedOnMain: 1000, placedOnWorkers: 0 });
});

t.test('the budget of one sample: 1,500 a second at 100 ms, the rest to the workers, who keep theirs', async (t) => {
  const p = new CallPlacement(opts);
  p.workersReady = true;
  t.equal(p.mainBudgetPerSecond, 1500);
  const first = hashes(400, 'burst');
  const onMain = first.map((h) => p.placeOnMain(h, 1000));
  t.equal(onMain.filter(Boolean).length, 150, '150 (100 ms of 1,500/s) on the main thread');
  t.ok(onMain.slice(0, 150).every(Boolean) && onMain.slice(150).every((x) => !x), 'the first 150, then the workers');
  p.adjust(0.3); // a fresh sample: the budget is free again (and grows: it was used, utilization low)
  t.equal(p.mainBudgetPerSecond, 1875);
  // retransmissions of the calls sent to workers: still the workers', though the budget has room
  t.ok(first.slice(150).every((h) => !p.placeOnMain(h, 1500)), 'a Call-ID sent to a worker goes there again');
  t.equal(p.stats.placedOnMain, 150);
  t.ok(p.placeOnMain(callIdHash('fresh@10.0.0.1'), 1500), 'a new Call-ID is the main thread\'s again');
});

t.test('the budget follows the main thread\'s utilization', async (t) => {
  const p = new CallPlacement(opts);
  p.workersReady = true;
  p.adjust(1.0); // twice the target: half the budget
  t.equal(p.mainBudgetPerSecond, 750);
  p.adjust(0.45); // between 80% of the target and the target: held
  t.equal(p.mainBudgetPerSecond, 750);
  p.adjust(0.1); // low, but less than half the budget used: held (an idle proxy's budget does not grow without bound)
  t.equal(p.mainBudgetPerSecond, 750);
  for (const h of hashes(40, 'half')) p.placeOnMain(h, 0); // 40 of 75 this sample
  p.adjust(0.1);
  t.equal(p.mainBudgetPerSecond, 937.5, 'grows by a quarter once over half of it was used');
  for (let i = 0; i < 50; i++) p.adjust(1.0);
  t.equal(p.mainBudgetPerSecond, 10, 'never below one Call-ID per sample');
  p.configure({ ...opts, sampleMs: 200 });
  t.equal(p.mainBudgetPerSecond, 10, 'a new sample interval keeps the budget per second');
});

t.test('a Call-ID sent to a worker is the workers\' for at least the hold, then free again', async (t) => {
  const p = new CallPlacement(opts);
  p.workersReady = true;
  for (let i = 0; i < 50; i++) p.adjust(1.0); // budget: 1 per sample
  const [a, b] = hashes(2, 'hold') as [number, number];
  t.ok(p.placeOnMain(a, 0), 'the one of this sample');
  t.notOk(p.placeOnMain(b, 0), 'over the budget: a worker');
  p.adjust(0.4);
  t.notOk(p.placeOnMain(b, HOLD - 1), 'its retransmission within the hold: the worker');
  t.notOk(p.placeOnMain(b, HOLD + 1), 'after one rotation: still remembered');
  t.ok(p.placeOnMain(b, 3 * HOLD), 'two holds later it is free');
});

t.test('the filter: no false no within the hold, few false yes at the load it is sized for', async (t) => {
  const f = new RecentCallIdFilter(1000);
  const added = hashes(200_000, 'added');
  for (const h of added) f.add(h, 10);
  t.ok(added.every((h) => f.has(h, 500)), 'every added Call-ID is found');
  const others = hashes(100_000, 'other');
  const falseYes = others.filter((h) => f.has(h, 500)).length;
  t.ok(falseYes < 30, `false yes for ${falseYes} of 100,000 others (200,000 held)`);
  t.ok(added.every((h) => f.has(h, 1500)), 'one rotation later: still found');
  t.equal(added.filter((h) => f.has(h, 2600)).length, 0, 'two holds after the last add: forgotten');
});
