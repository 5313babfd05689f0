// The transaction timer wheel: due times rounded up to the tick, schedule order within a tick,
// cancellation (also of a timer later in the tick being fired), and timers beyond the ring.
import t from 'tap';
import { ManualClock, TimerWheel } from '../../lib/txn/timers.js';

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
