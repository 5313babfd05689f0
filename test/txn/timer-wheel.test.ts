// The transaction timer wheel: due times rounded up to the tick, schedule order within a tick,
// cancellation (also of a timer later in the tick being fired), and timers beyond the ring.
import t from 'tap';
import { ManualClock, systemClock, TimerWheel } from '../../lib/txn/timers.js';

const wheel = (): { clock: ManualClock; w: TimerWheel; fired: string[] } => {
  const clock = new ManualClock(1_000_000);
  return { clock, w: new TimerWheel(clock, 10, false), fired: [] };
};

t.test('fires when due, in schedule order within a tick, and not before', async (t) => {
  const { clock, w, fired } = wheel();
  w.schedule(25, () => fired.push('a'));
  w.schedule(21, () => fired.push('b'));
  w.schedule(5, (x: string) => fired.push(x), 'c');
  t.equal(w.size, 3);
  clock.t += 9; w.advance();
  t.same(fired, []);
  clock.t += 1; w.advance();
  t.same(fired, ['c']);
  clock.t += 20; w.advance();
  t.same(fired, ['c', 'a', 'b'], 'a and b share the tick at 30 ms: scheduled order');
  t.equal(w.size, 0);
});

t.test('a cancelled timer never fires and leaves the count at once', async (t) => {
  const { clock, w, fired } = wheel();
  const a = w.schedule(100, () => fired.push('a'));
  w.schedule(100, () => fired.push('b'));
  w.cancel(a);
  w.cancel(a); // twice: no effect
  w.cancel(undefined);
  t.equal(w.size, 1);
  t.equal(a.cancelled, true);
  clock.t += 100; w.advance();
  t.same(fired, ['b']);
  t.equal(w.size, 0);
});

t.test('a timer cancelled by an earlier one of the same tick does not fire', async (t) => {
  const { clock, w, fired } = wheel();
  let later: ReturnType<TimerWheel['schedule']> | undefined;
  w.schedule(50, () => { fired.push('first'); w.cancel(later); });
  later = w.schedule(50, () => fired.push('later'));
  w.schedule(50, () => fired.push('third'));
  clock.t += 50; w.advance();
  t.same(fired, ['first', 'third']);
  t.equal(w.size, 0);
  w.cancel(later); // after its tick: still nothing
  t.equal(w.size, 0);
});

t.test('a timer scheduled while firing waits for a later tick', async (t) => {
  const { clock, w, fired } = wheel();
  w.schedule(10, () => { fired.push('outer'); w.schedule(0, () => fired.push('inner')); });
  clock.t += 10; w.advance();
  t.same(fired, ['outer']);
  t.equal(w.size, 1);
  clock.t += 10; w.advance();
  t.same(fired, ['outer', 'inner']);
});

t.test('timers past the ring (hours) fire on time, in order with near ones of the same tick', async (t) => {
  const { clock, w, fired } = wheel();
  const hour = 3_600_000;
  w.schedule(hour, () => fired.push('far-1'));
  const gone = w.schedule(hour, () => fired.push('far-cancelled'));
  w.schedule(2 * hour, () => fired.push('far-2'));
  w.cancel(gone);
  t.equal(w.size, 2);
  clock.t += hour - 1000; w.advance();
  t.same(fired, []);
  w.schedule(1000, () => fired.push('near')); // same tick as far-1, scheduled later
  clock.t += 1000; w.advance();
  t.same(fired, ['far-1', 'near']);
  clock.t += hour; w.advance();
  t.same(fired, ['far-1', 'near', 'far-2']);
  t.equal(w.size, 0);
});

t.test('a clock far ahead of the last advance: timers still fire once due', async (t) => {
  const { clock, w, fired } = wheel();
  clock.t += 10 * 3_600_000; // no advance for ten hours
  w.schedule(30, () => fired.push('x'));
  clock.t += 20; w.advance();
  t.same(fired, []);
  clock.t += 10; w.advance();
  t.same(fired, ['x']);
});

t.test('a timer that throws: with onError, told and the rest of its tick fires; without, it escapes', async (t) => {
  const { clock, w, fired } = wheel();
  const errors: unknown[] = [];
  w.onError = (err) => errors.push(err);
  w.schedule(10, () => { throw new Error('boom'); });
  w.schedule(10, () => fired.push('after'));
  clock.t += 10; w.advance();
  t.equal(errors.length, 1);
  t.match(String(errors[0]), /boom/);
  t.same(fired, ['after'], 'the next timer of the same tick still fired');
  w.onError = undefined;
  w.schedule(10, () => { throw new Error('escapes'); });
  clock.t += 10;
  t.throws(() => w.advance(), /escapes/, 'a worker thread lets it end the thread');
});

// The wheel's own wake-ups, on the real clock: a timer set less than preciseBelowMs ahead fires on
// its tick, a later one from the lazy interval (at most lazyMs late), and nothing wakes the thread
// every tick. Bounds leave room for a loaded machine: the lazy period is far above a late precise.
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

t.test('real clock: a precise timer fires on its tick, a lazy one at most lazyMs late, few wake-ups', async (t) => {
  const w = new TimerWheel(systemClock, 10, true, { preciseBelowMs: 100, lazyMs: 1000 });
  t.teardown(() => w.stop());
  const start = Date.now();
  const at: Record<string, number> = {};
  w.schedule(40, () => { at.precise = Date.now() - start; });
  w.schedule(300, () => { at.lazy = Date.now() - start; });
  await sleep(1600);
  t.ok(at.precise !== undefined && at.precise >= 40 && at.precise < 1000, `precise fired at ${at.precise} ms, before the first lazy wake-up (1,000 ms)`);
  t.ok(at.lazy !== undefined && at.lazy >= 1000 && at.lazy < 1600, `lazy (300 ms) fired at ${at.lazy} ms: on the lazy wake-up, not before it is due`);
  t.ok(w.wakeUps >= 2 && w.wakeUps <= 3, `woke ${w.wakeUps} times in 1.6 s (a 10 ms tick: ~160)`);
  t.equal(w.size, 0);
});

t.test('real clock: the precise wake-up after a cancelled timer, and one set while firing, keep every precise timer on time', async (t) => {
  const w = new TimerWheel(systemClock, 10, true, { preciseBelowMs: 200, lazyMs: 5000 });
  t.teardown(() => w.stop());
  const start = Date.now();
  const at: Record<string, number> = {};
  const gone = w.schedule(20, () => { at.cancelled = 0; });
  w.cancel(gone); // its wake-up still comes and finds nothing due
  w.schedule(50, () => {
    at.first = Date.now() - start;
    w.schedule(150, () => { at.setWhileFiring = Date.now() - start; at.setWhileFiringWake = w.wakeUps; }); // due ~200, later than 'second'
  });
  w.schedule(120, () => { at.second = Date.now() - start; at.secondWake = w.wakeUps; });
  await sleep(600);
  t.equal(at.cancelled, undefined);
  t.ok(at.first !== undefined && at.first >= 50 && at.first < 1000, `first at ${at.first} ms`);
  t.ok(at.second !== undefined && at.second >= 120 && at.second < 1000, `second at ${at.second} ms: armed again after the first, not pushed to the later one`);
  t.ok(at.setWhileFiring !== undefined && at.setWhileFiring >= 200 && at.setWhileFiring < 1000, `set while firing at ${at.setWhileFiring} ms`);
  t.ok(at.secondWake! < at.setWhileFiringWake!, `second fired on a wake-up of its own (${at.secondWake}), before the later one's (${at.setWhileFiringWake})`);
  t.ok(w.wakeUps <= 5, `woke ${w.wakeUps} times (no lazy wake-up within 5 s)`);
});

t.test('real clock: only a far timer pending (a line\'s refresh) wakes the wheel at the lazy period', async (t) => {
  const w = new TimerWheel(systemClock, 10, true, { lazyMs: 200 });
  t.teardown(() => w.stop());
  let fired = false;
  w.schedule(3_600_000, () => { fired = true; });
  await sleep(700);
  t.equal(fired, false);
  t.ok(w.wakeUps >= 2 && w.wakeUps <= 4, `woke ${w.wakeUps} times in 700 ms (a 10 ms tick: ~70)`);
  w.stop();
  const after = w.wakeUps;
  await sleep(300);
  t.equal(w.wakeUps, after, 'stop() ends the wake-ups');
});

t.test('preciseBelowMs beyond the ring is refused', async (t) => {
  t.throws(() => new TimerWheel(systemClock, 10, false, { preciseBelowMs: 400_000 }), RangeError);
});
