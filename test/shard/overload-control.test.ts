// Whole-proxy overload control, in-thread with injected load samples and a fake clock: when
// shedding starts and stops (hysteresis), the 503 budget, which messages count as new work, and
// the stateless 503 itself.
import t, { type Test } from 'tap';
import { OverloadControl, type OverloadSettings } from '../../lib/shard/overload-control.js';
import { RecentInvites } from '../../lib/shard/recent-invites.js';
import { isAckOfRefusal, isNewWork, overloadResponse } from '../../lib/shard/overload.js';

const settings: OverloadSettings = { enabled: true, sampleMs: 100, sustainSamples: 1, eluHigh: 0.9, eluLow: 0.7, backlogHigh: 100, backlogLow: 20, rxQueueHighBytes: 1000, rxQueueLowBytes: 250, minMessagesPerSecond: 500, max503PerSecond: 3 };

/** Feeds samples [elu, backlog, rate] in order; each must leave shedding as expected. */
function feed(t: Test, c: OverloadControl, steps: Array<[elu: number, backlog: number, rate: number, shedding: boolean, why: string]>): void {
  for (const [elu, backlog, rate, shedding, why] of steps) t.equal(c.update({ elu, backlog, rate, rxQueue: 0 }), shedding, why);
}

t.test('shedding starts at either high mark and stops only below both low marks', async (t) => {
  const c = new OverloadControl(settings);
  feed(t, c, [
    [0.89, 99, 1000, false, 'under both high marks: no shedding'],
    [0.9, 0, 1000, true, 'utilization at its high mark'],
    [0.8, 0, 1000, true, 'between the marks: still shedding (hysteresis)'],
    [0.5, 21, 1000, true, 'utilization low but the backlog above its low mark: still shedding'],
    [0.7, 20, 1000, false, 'both at their low marks: stops'],
    [0.8, 50, 1000, false, 'between the marks again: stays off'],
    [0.1, 100, 1000, true, 'backlog at its high mark alone starts it'],
  ]);
  t.equal(c.stats.episodes, 2, 'two episodes counted');
  t.same([c.stats.elu, c.stats.backlog, c.stats.rate], [0.1, 100, 1000], 'the last sample is kept for the metrics');
});

t.test('only a sustained excess starts shedding', async (t) => {
  feed(t, new OverloadControl({ ...settings, sustainSamples: 3 }), [
    [1, 0, 1000, false, 'one busy sample'],
    [1, 0, 1000, false, 'two'],
    [0.5, 0, 1000, false, 'a quiet one restarts the count'],
    [1, 0, 1000, false, 'one'],
    [0.5, 100, 1000, false, 'two (the backlog this time)'],
    [1, 0, 1000, true, 'three in a row: shedding'],
  ]);
});

t.test('a busy loop without heavy SIP traffic is not overload (start, reload, admin)', async (t) => {
  feed(t, new OverloadControl(settings), [
    [1, 0, 499, false, 'utilization alone, under minMessagesPerSecond'],
    [0.95, 0, 500, true, 'the same with heavy traffic'],
    [1, 0, 10, false, 'traffic gone: utilization no longer counts, shedding stops'],
    [0, 150, 0, true, 'the backlog counts whatever the rate'],
  ]);
});

t.test('eluHigh 1 (the default) leaves utilization out: only the backlog sheds', async (t) => {
  feed(t, new OverloadControl({ ...settings, eluHigh: 1 }), [
    [1, 0, 50_000, false, 'a main thread busy all the time under heavy traffic'],
    [1, 150, 50_000, true, 'the backlog over its mark'],
    [1, 10, 50_000, false, 'the backlog under its low mark stops it, utilization still 1'],
  ]);
});

t.test('the UDP receive queue alone starts shedding after sustainSamples, and it stops only below every low mark', async (t) => {
  const c = new OverloadControl({ ...settings, eluHigh: 1, sustainSamples: 3 });
  const step = (rxQueue: number, backlog: number, shedding: boolean, why: string): void => {
    t.equal(c.update({ elu: 1, backlog, rate: 15_000, rxQueue }), shedding, why);
  };
  step(1000, 0, false, 'one sample at the rx mark (the shards idle: the main thread is the bottleneck)');
  step(5000, 0, false, 'two');
  step(999, 0, false, 'under the mark restarts the count');
  step(1000, 0, false, 'one');
  step(2000, 0, false, 'two');
  step(3000, 0, true, 'three in a row: shedding');
  t.equal(c.stats.rxQueueBytes, 3000, 'the last queue size is kept for the metrics');
  step(500, 0, true, 'between the rx marks: still shedding');
  step(250, 21, true, 'rx queue at its low mark but the backlog above its own: still shedding');
  step(251, 20, true, 'backlog at its low mark but the rx queue above its own: still shedding');
  step(250, 20, false, 'every signal at its low mark: stops');
  t.equal(c.stats.episodes, 1);
});

t.test('disabled: never sheds, and a reload that disables it stops shedding at once', async (t) => {
  const c = new OverloadControl({ ...settings, enabled: false });
  t.notOk(c.update({ elu: 1, backlog: 1e6, rate: 1000, rxQueue: 1e9 }));
  c.configure(settings);
  t.ok(c.update({ elu: 1, backlog: 0, rate: 1000, rxQueue: 0 }));
  c.configure({ ...settings, enabled: false });
  t.notOk(c.shedding);
});

t.test('503 budget per second: beyond it new requests are to be dropped', async (t) => {
  let now = 10_000;
  const c = new OverloadControl(settings, () => now);
  t.same([c.take503(), c.take503(), c.take503(), c.take503()], [true, true, true, false], 'three per second');
  now += 999;
  t.notOk(c.take503(), 'still the same second');
  now += 1;
  t.ok(c.take503(), 'a new second refills it');
  const none = new OverloadControl({ ...settings, max503PerSecond: 0 }, () => now);
  t.notOk(none.take503(), '0: every new request is dropped');
});

const req = (method: string, to: string, extra = ''): Buffer => Buffer.from(
  `${method} sip:9000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\nMax-Forwards: 70\r\n` +
  `From: <sip:a@127.0.0.1>;tag=a1\r\nTo: ${to}\r\nCall-ID: c1@test\r\nCSeq: 1 ${method}\r\n${extra}Content-Length: 0\r\n\r\n`, 'latin1');

t.test('new work: out-of-dialog requests other than ACK and CANCEL', async (t) => {
  for (const m of ['INVITE', 'REGISTER', 'OPTIONS', 'SUBSCRIBE', 'MESSAGE']) t.ok(isNewWork(req(m, '<sip:9000@127.0.0.1>')), `${m} without To tag`);
  t.ok(isNewWork(req('INVITE', '"x;tag=y" <sip:9000@127.0.0.1;tag=z>')), 'a tag in the display name or URI is not the To tag');
  t.ok(isNewWork(Buffer.from('INVITE sip:a@b SIP/2.0\r\nCall-ID: x\r\n\r\n')), 'no To header at all: new (the shard would reject it anyway)');
  t.notOk(isNewWork(req('BYE', '<sip:9000@127.0.0.1>;tag=b1')), 'in-dialog BYE');
  t.notOk(isNewWork(req('INVITE', '<sip:9000@127.0.0.1> ; TAG = b1')), 're-INVITE (tag spelled loosely)');
  t.notOk(isNewWork(Buffer.from(req('INFO', 'x').toString('latin1').replace('To: x', 't: sip:9000@127.0.0.1;tag=b1'))), 'compact To with a tag');
  t.notOk(isNewWork(req('ACK', '<sip:9000@127.0.0.1>')), 'ACK');
  t.notOk(isNewWork(req('CANCEL', '<sip:9000@127.0.0.1>')), 'CANCEL');
  t.notOk(isNewWork(Buffer.from('SIP/2.0 200 OK\r\nTo: <sip:a@b>\r\nCall-ID: x\r\n\r\n')), 'a response');
});

t.test('the stateless 503 carries Retry-After and the request identity', async (t) => {
  const res = overloadResponse(req('REGISTER', '<sip:100@127.0.0.1>'), 9)!.toString('latin1');
  t.match(res, /^SIP\/2\.0 503 /);
  t.match(res, /\r\nRetry-After: 9\r\n/);
  t.match(res, /\r\nCall-ID: c1@test\r\n/);
  t.match(res, /\r\nCSeq: 1 REGISTER\r\n/);
  t.match(res, /\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:5070;branch=z9hG4bK-1/);
  t.equal(overloadResponse(Buffer.from('INVITE nonsense\r\n\r\n'), 9), undefined, 'unanswerable: none (dropped and counted)');
  const tag = /\r\nTo: [^\r]*;tag=([^;\r]+)/.exec(res)![1]!;
  t.ok(isAckOfRefusal(req('ACK', `<sip:100@127.0.0.1>;tag=${tag}`)), 'the ACK of that 503 is recognised (absorbed on the main thread)');
  t.notOk(isAckOfRefusal(req('ACK', '<sip:100@127.0.0.1>;tag=callee')), 'the ACK of a response from elsewhere is not');
  t.notOk(isAckOfRefusal(req('BYE', `<sip:100@127.0.0.1>;tag=${tag}`)), 'nor a request other than ACK');
});

t.test('recent INVITEs: remembered for one to two windows, then forgotten', async (t) => {
  let now = 0;
  const r = new RecentInvites(32_000, () => now);
  r.add(7);
  now = 31_999;
  t.ok(r.has(7), 'within the window');
  now = 40_000;
  r.add(8);
  t.ok(r.has(7) && r.has(8), 'the previous window is still kept');
  now = 72_000;
  t.notOk(r.has(7), 'two windows later: forgotten');
  t.ok(r.has(8));
  now = 200_000;
  t.notOk(r.has(8), 'after a long quiet time nothing is kept');
});
