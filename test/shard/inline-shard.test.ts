// The shard on the main thread (workers: 0), in-thread: answers come after the caller's task (never
// inside post(), where the main thread's answer handler would re-enter the runtime), a batch that
// throws is counted and the shard goes on (so is a timer or the dialog sweep that throws), the 'crash' hook is refused, a stopped shard ignores posts.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { FromShardBatch, ToShard } from '../../lib/shard/channel.js';
import { InlineShard } from '../../lib/shard/inline-shard.js';
import { forEachSip, type PackedSip } from '../../lib/shard/sip-frames.js';
import type { WireBindingUpdate } from '../../lib/registrar/binding-wire.js';
import { testConfig } from '../helpers/proxy-harness.js';

const PORT = 5060;
const from = { transport: 'udp' as const, address: '127.0.0.1', port: 5999 };

function options(n: number): ToShard {
  const text = [
    `OPTIONS sip:127.0.0.1:${PORT} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:5999;branch=z9hG4bK-inline-${n}`, 'Max-Forwards: 70',
    'From: <sip:a@127.0.0.1>;tag=a', `To: <sip:127.0.0.1:${PORT}>`, `Call-ID: inline-${n}@test`, `CSeq: ${n} OPTIONS`, 'Content-Length: 0', '', '',
  ].join('\r\n');
  return { t: 'sip', d: Buffer.from(text, 'latin1'), s: from };
}

function start(): { shard: InlineShard; answers: string[]; batches: FromShardBatch[] } {
  const config = testConfig({ listen: [{ transport: 'udp', address: '127.0.0.1', port: PORT }] });
  const answers: string[] = [];
  const batches: FromShardBatch[] = [];
  const shard = new InlineShard(
    { shardId: 0, shardCount: 1, config, listeners: [{ transport: 'udp', address: '127.0.0.1', port: PORT }], nonceSecret: randomBytes(32), location: new Uint8Array(0) },
    false,
    (batch) => {
      batches.push(batch);
      for (const item of batch.out) if (item.t === 'sipb') forEachSip(item as PackedSip, (d) => answers.push(d.toString('latin1')));
    },
  );
  return { shard, answers, batches };
}

t.test('an answer comes after the posting task, packed as a worker posts it, with its acknowledgement', async (t) => {
  const { shard, answers, batches } = start();
  t.teardown(() => shard.stop());
  shard.post([options(1)]);
  t.same(answers, [], 'nothing is handled inside post()');
  await Promise.resolve();
  t.equal(answers.length, 1, 'handled once the task is done');
  t.match(answers[0], /^SIP\/2\.0 200 OK\r\n[^]*CSeq: 1 OPTIONS/);
  t.equal(batches[0]!.n, 1, 'the batch acknowledges the one message');
  t.ok(batches[0]!.out.every((i) => i.t === 'sipb'), 'sends come as a packed run');
});

t.test('a batch that throws is counted and the shard keeps serving', async (t) => {
  const { shard, answers } = start();
  t.teardown(() => shard.stop());
  shard.post([{ t: 'bind', u: null as unknown as WireBindingUpdate }]);
  shard.post([options(2)]);
  await Promise.resolve();
  t.equal(shard.errors, 1, 'the failed batch is counted');
  t.equal(answers.length, 1, 'the next batch is answered');
});

t.test("the 'crash' hook is not run on the main thread; a stopped shard ignores posts", async (t) => {
  const { shard, answers } = start();
  shard.post([{ t: 'crash' }, options(3)]);
  await new Promise((r) => setImmediate(r));
  await new Promise((r) => setImmediate(r));
  t.equal(answers.length, 1, 'the rest of the batch is handled (and the process is alive)');
  t.equal(shard.errors, 0);
  shard.post([{ t: 'stop' }]);
  shard.post([options(4)]);
  await new Promise((r) => setImmediate(r));
  t.equal(answers.length, 1, 'nothing after stop');
});

t.test('a transaction timer that throws on the main thread is counted and the shard keeps serving', async (t) => {
  const { shard, answers } = start();
  t.teardown(() => shard.stop());
  const timers = shard['runtime'].timers;
  timers.schedule(0, () => { throw new Error('timer bug'); });
  await new Promise((r) => setTimeout(r, 50)); // the wheel's own 10 ms tick fires it
  t.equal(shard.errors, 1, 'counted');
  shard.post([options(7)]);
  await Promise.resolve();
  t.match(answers.at(-1), /^SIP\/2\.0 200 OK\r\n[^]*CSeq: 7 OPTIONS/, 'still answers');
});

t.test('the periodic sweep of stale dialogs that throws on the main thread is counted; in a worker it escapes', async (t) => {
  const { shard, answers } = start();
  t.teardown(() => shard.stop());
  const runtime = shard['runtime'];
  runtime.dialogs.sweep = () => { throw new Error('sweep bug'); };
  runtime['sweepStale']();
  t.equal(shard.errors, 1, 'counted, not thrown');
  shard.post([options(8)]);
  await Promise.resolve();
  t.match(answers.at(-1), /^SIP\/2\.0 200 OK\r\n[^]*CSeq: 8 OPTIONS/, 'still answers');
  // a worker's runtime leaves onError unset: the error ends the thread, which is replaced
  runtime.timers.onError = undefined;
  t.throws(() => runtime['sweepStale'](), /sweep bug/);
});
