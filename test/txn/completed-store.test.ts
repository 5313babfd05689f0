// The off-heap store of Completed non-INVITE transactions: found by key until Timer J, expired
// oldest first, its index consistent through collisions, growth and deletion, its chunks reused.
import t from 'tap';
import { CompletedTxnStore, type ExpiryWatch } from '../../lib/txn/completed-store.js';
import { ManualClock, TimerWheel } from '../../lib/txn/timers.js';

function store(opts: ConstructorParameters<typeof CompletedTxnStore>[2] = {}, watch?: ExpiryWatch): { s: CompletedTxnStore; clock: ManualClock; advance: (ms: number) => void } {
  const clock = new ManualClock();
  const timers = new TimerWheel(clock, 10, false);
  const s = new CompletedTxnStore(timers, () => watch, opts);
  return { s, clock, advance: (ms) => { clock.t += ms; timers.advance(); } };
}
const res = (i: number): Buffer => Buffer.from(`SIP/2.0 200 OK\r\nCSeq: ${i} REGISTER\r\n\r\n`, 'latin1');
const key = (i: number): string => `z9hG4bK-${i}|10.0.0.1:5060|REGISTER`;

t.test('a kept response is found by its key, as a copy, until its hold ends', async (t) => {
  const { s, advance } = store();
  t.equal(s.keep(key(1), 'call-1', res(1), 32_000), true);
  t.equal(s.size, 1);
  const got = s.response(key(1))!;
  t.same(got, res(1));
  got[0] = 0; // a copy: the store's bytes are not the caller's to change
  t.same(s.response(key(1)), res(1));
  t.equal(s.response(key(2)), undefined);
  t.equal(s.response(`${key(1)}x`), undefined, 'a longer key sharing the prefix is another key');
  advance(31_990);
  t.ok(s.response(key(1)), 'still there just before Timer J');
  advance(20);
  t.equal(s.response(key(1)), undefined, 'gone after it');
  t.equal(s.size, 0);
  t.equal(s.bytes, 0, 'no chunk held once empty');
});

t.test('records expire oldest first, each at its own time', async (t) => {
  const { s, advance } = store();
  for (let i = 0; i < 10; i++) { s.keep(key(i), `c${i}`, res(i), 1000); advance(100); }
  // now = 1000 after the first: records 0..0 due (kept at 0, 100, ..., 900)
  t.equal(s.size, 9);
  t.equal(s.response(key(0)), undefined);
  t.ok(s.response(key(1)));
  advance(450);
  t.equal(s.size, 5, 'records kept at 100..400 went');
  t.same(s.callIds(), ['c5', 'c6', 'c7', 'c8', 'c9']);
  advance(1000);
  t.equal(s.size, 0);
});

t.test('the index stays right through collisions, growth and deletion (a 4-slot table to start)', async (t) => {
  const { s, advance } = store({ initialSlots: 4 });
  const n = 3000;
  // kept in three waves so that deletions (expiry) interleave with inserts and growth
  for (let i = 0; i < n; i++) {
    t.equal(s.keep(key(i), `c${i}`, res(i), 1000), true);
    if (i % 1000 === 999) advance(300);
  }
  advance(150); // now 1050: the first wave (kept at 0, due at 1000) expired, the second (due at 1300) not
  t.equal(s.size, 2000);
  let found = 0;
  let wrong = 0;
  for (let i = 0; i < n; i++) {
    const r = s.response(key(i));
    if (r === undefined) { if (i >= 1000) wrong++; continue; }
    if (i < 1000 || !r.equals(res(i))) wrong++;
    found++;
  }
  t.equal(found, 2000);
  t.equal(wrong, 0, 'every live record found with its own response, no expired one');
  advance(1000);
  t.equal(s.size, 0);
  for (let i = 0; i < n; i++) if (s.response(key(i)) !== undefined) wrong++;
  t.equal(wrong, 0);
});

t.test('chunks roll over, are reused, and the store says no at its limit', async (t) => {
  const { s, advance } = store({ chunkBytes: 1024, maxChunks: 3 });
  const big = Buffer.alloc(280, 0x41); // 20 + ~34 + 2 + 280 bytes a record: three to a chunk
  let kept = 0;
  while (s.keep(key(kept), `c${kept}`, big, 1000)) kept++;
  t.equal(kept, 9, 'three records per 1 KiB chunk, three chunks');
  t.equal(s.bytes, 3 * 1024);
  t.equal(s.keep(key(100), 'c', Buffer.alloc(2000), 1000), false, 'a record larger than a chunk is refused');
  advance(1000);
  t.equal(s.size, 0);
  for (let i = 0; i < 9; i++) t.equal(s.keep(key(200 + i), `d${i}`, big, 1000), true, 'room again once expired');
  for (let i = 0; i < 9; i++) t.same(s.response(key(200 + i)), big);
});

t.test('a key or Call-ID outside latin1 is refused, not mangled', async (t) => {
  const { s } = store();
  t.equal(s.keep('z9hG4bK-\u0101|h:1|REGISTER', 'c', res(1), 1000), false);
  t.equal(s.keep(key(1), 'c\u0101', res(1), 1000), false);
  t.equal(s.size, 0);
  t.equal(s.keep(key(1), 'c', res(1), 1000), true, 'and the chunk is still usable');
  t.same(s.response(key(1)), res(1));
});

t.test('expiry tells an active watch the Call-ID of each record (resharding pins)', async (t) => {
  const ended: string[] = [];
  const watch = { active: false, ended: (c: string) => { ended.push(c); } };
  const { s, advance } = store({}, watch);
  s.keep(key(1), 'first', res(1), 100);
  s.keep(key(2), 'second', res(2), 200);
  advance(100);
  t.same(ended, [], 'inactive: not told');
  watch.active = true;
  advance(100);
  t.same(ended, ['second']);
});

t.test('against a plain Map model: random keeps, lookups, repeats of a key and time steps (seeded)', async (t) => {
  // a small LCG: the same sequence every run, so a failure replays
  let seed = 0x5eed1234;
  const rand = (n: number): number => { seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0; return seed % n; };
  const { s, clock, advance } = store({ chunkBytes: 4096, initialSlots: 8 });
  const HOLD = 500;
  const model = new Map<string, { body: Buffer; until: number }>();
  let mismatches = 0;
  let hits = 0;
  let refused = 0;
  for (let step = 0; step < 20_000; step++) {
    const k = `z9hG4bK-${rand(3000)}|10.0.0.${rand(3)}:5060|${rand(2) === 0 ? 'REGISTER' : 'BYE'}`;
    const want = model.get(k);
    const live = want !== undefined && want.until > clock.t ? want : undefined;
    const got = s.response(k);
    if ((got === undefined) !== (live === undefined) || (got !== undefined && !got.equals(live!.body))) mismatches++;
    if (got !== undefined) hits++;
    // a key is kept again only once its record is gone, as the proxy core does (a live one answers)
    if (live === undefined && rand(2) === 0) {
      const body = Buffer.alloc(20 + rand(400), 0x30 + rand(40));
      if (!s.keep(k, `call-${rand(100)}`, body, HOLD)) refused++;
      model.set(k, { body, until: clock.t + HOLD });
    }
    if (rand(8) === 0) advance(10 * (1 + rand(5)));
  }
  let size = 0;
  for (const v of model.values()) if (v.until > clock.t) size++;
  t.equal(refused, 0, 'nothing refused');
  t.equal(mismatches, 0, 'every lookup agreed with the model');
  t.ok(hits > 1000, `the run exercised hits (${hits})`);
  t.equal(s.size, size, 'as many records as the model has live');
  advance(HOLD);
  t.equal(s.size, 0);
});
