// Hold while busy through a real ShardPool and worker thread (lib/shard/shard-pool.ts,
// shard-outbox.ts): messages for a shard with a post unanswered wait; its answer, or failing that
// the 2 ms limit, sends them as one batch. The worker is scripted (test/helpers/scripted-shard-worker.ts):
// it reports each batch and acknowledges only when a message 'ack' comes.
import t from 'tap';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { packageRoot } from '../../lib/config/load-config.js';
import { createLogger } from '../../lib/log.js';
import type { FromShardBatch, ShardInit } from '../../lib/shard/channel.js';
import { ShardPool } from '../../lib/shard/shard-pool.js';
import type { SendTarget } from '../../lib/transport/types.js';
import { testConfig } from '../helpers/proxy-harness.js';
import { untilOrThrow } from '../helpers/wait.js';

const A: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070 };
const WORKER = join(packageRoot(), 'dist', 'test', 'helpers', 'scripted-shard-worker.js');

function pool(postsInFlight: number, holdLimitMs?: number): { pool: ShardPool; batches: string[][] } {
  const batches: string[][] = [];
  const init = (shardId: number): ShardInit => ({
    shardId, shardCount: 1, config: testConfig({}), listeners: [], nonceSecret: randomBytes(32), location: new Uint8Array(0),
  });
  const p = new ShardPool({
    workers: 1, batchMax: 64, postsInFlight, holdLimitMs, init, filename: WORKER, log: createLogger('silent'),
    onBatch: (_id: number, b: FromShardBatch) => { for (const o of b.out) if (o.t === 'reply') batches.push(o.v as unknown as string[]); },
  });
  return { pool: p, batches };
}

const send = (p: ShardPool, text: string): void => p.dispatchSip(0, Buffer.from(text, 'latin1'), A);
const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

t.test('an unanswered post holds the next messages; the time limit sends them as one batch', async (t) => {
  // 200 ms instead of HOLD_LIMIT_MS: two event-loop turns of a loaded test machine stay inside it
  const { pool: p, batches } = pool(1, 200);
  t.teardown(() => p.close());
  send(p, 'm1');
  await untilOrThrow(() => batches.length === 1, 5000, 'the first batch');
  t.same(batches[0], ['m1'], 'an idle shard gets the turn\'s message at once');
  // m1 is unanswered: m2 and m3, sent in two turns, wait
  send(p, 'm2');
  await turn();
  send(p, 'm3');
  await turn();
  t.equal(batches.length, 1, 'held while the shard has a post unanswered');
  await untilOrThrow(() => batches.length === 2, 1000, 'the held batch after the time limit');
  t.same(batches[1], ['m2', 'm3'], 'the limit sent them as one batch');
  t.equal(p.handOver.holdsExpired, 1, 'counted as a hold the limit ended');
  // 'ack' waits for the limit too (m2 and m3 are unanswered), then acknowledges everything: with
  // nothing unanswered the next message goes at once
  send(p, 'ack');
  await untilOrThrow(() => batches.length === 3, 1000, 'the ack batch');
  send(p, 'm4');
  await untilOrThrow(() => batches.length === 4, 1000, 'm4');
  t.same(batches[3], ['m4']);
  t.same(p.handOver.messages, 5, 'five SIP messages handed over');
  t.same(p.handOver.batches, 4, 'in four batches');
});

t.test('the answer releases held messages, as one batch', async (t) => {
  const { pool: p, batches } = pool(1, 60_000); // a limit that cannot end the hold here
  t.teardown(() => p.close());
  send(p, 'slow'); // posted at once (the shard is idle), answered and acknowledged 300 ms later
  await turn();
  send(p, 'x1');
  await turn();
  send(p, 'x2');
  await turn();
  t.equal(batches.length, 0, 'the shard has not answered yet');
  await untilOrThrow(() => batches.length === 2, 5000, 'the answer and the held batch');
  t.same(batches, [['slow'], ['x1', 'x2']], 'x1 and x2, held in two turns, went together after the answer');
  t.equal(p.handOver.holdsExpired, 0, 'not by the time limit');
});

t.test('postsInFlight 0: every turn posts', async (t) => {
  const { pool: p, batches } = pool(0);
  t.teardown(() => p.close());
  send(p, 'm1');
  await untilOrThrow(() => batches.length === 1, 5000, 'm1');
  send(p, 'm2');
  await untilOrThrow(() => batches.length === 2, 1000, 'm2');
  t.same(batches, [['m1'], ['m2']]);
  t.equal(p.handOver.holdsExpired, 0);
});
