// The main thread's queue for one shard (lib/shard/shard-outbox.ts): one post per turn to an idle
// shard; SIP messages for a shard that has not answered our last post wait for its answer and go
// in one batch with it; control items and a full batch never wait.
import t from 'tap';
import type { ToShard } from '../../lib/shard/channel.js';
import { ShardOutbox } from '../../lib/shard/shard-outbox.js';
import { forEachSip, type PackedSip } from '../../lib/shard/sip-frames.js';
import type { SendTarget } from '../../lib/transport/types.js';

const A: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070 };

/** Each post as the texts of its SIP messages and the kinds of its control items, in order. */
function recorder(): { posts: string[][]; counts: number[]; post: (items: ToShard[], transfer: ArrayBuffer[], messages: number) => void } {
  const posts: string[][] = [];
  const counts: number[] = [];
  return {
    posts,
    counts,
    post: (items, transfer, messages) => {
      counts.push(messages);
      const seen: string[] = [];
      for (const item of items) {
        if (item.t === 'sipb') {
          if (!transfer.includes(item.b)) throw new Error('a packed run posted without its buffer in the transfer list');
          forEachSip(item as PackedSip, (d) => seen.push(d.toString('latin1')));
        } else seen.push(`<${item.t}>`);
      }
      posts.push(seen);
    },
  };
}

const msg = (s: string): Buffer => Buffer.from(s, 'latin1');

t.test('an idle shard gets each turn\'s messages at the end of the turn, in one post', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 64, 1);
  box.addSip(msg('m1'), A);
  box.addSip(msg('m2'), A);
  t.same(r.posts, [], 'nothing posted before the end of the turn');
  t.equal(box.endOfTurn(), false, 'nothing held');
  t.same(r.posts, [['m1', 'm2']]);
  t.equal(box.inFlight, 2, 'both in flight until the shard answers');
});

t.test('messages for a busy shard wait for its answer, then go in one batch', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 64, 1);
  box.addSip(msg('m1'), A);
  box.endOfTurn();
  box.addSip(msg('m2'), A);
  t.equal(box.endOfTurn(), true, 'held: the shard has not answered m1');
  box.addSip(msg('m3'), A);
  t.equal(box.endOfTurn(), true, 'still held');
  t.same(r.posts, [['m1']], 'only the first post went');
  t.equal(box.inFlight, 3);
  box.acked(1);
  t.same(r.posts, [['m1'], ['m2', 'm3']], 'its answer releases what came meanwhile, as one batch');
  t.same(r.counts, [1, 2]);
  t.equal(box.inFlight, 2);
  box.acked(2);
  t.equal(box.inFlight, 0);
  t.equal(box.endOfTurn(), false, 'nothing left');
  t.equal(r.posts.length, 2);
});

t.test('an answer for part of what was posted keeps the hold', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 64, 1);
  box.addSip(msg('m1'), A);
  box.addSip(msg('m2'), A);
  box.endOfTurn();
  box.addSip(msg('m3'), A);
  box.endOfTurn();
  box.acked(1);
  t.same(r.posts, [['m1', 'm2']], 'm2 not answered yet: m3 waits');
  box.acked(1);
  t.same(r.posts, [['m1', 'm2'], ['m3']]);
});

t.test('a control item is never held, and goes after the messages queued before it', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 64, 1);
  box.addSip(msg('m1'), A);
  box.endOfTurn();
  box.addSip(msg('m2'), A);
  box.addControl({ t: 'stats', id: 1 });
  box.addSip(msg('m3'), A);
  t.equal(box.endOfTurn(), false, 'not held');
  t.same(r.posts, [['m1'], ['m2', '<stats>', 'm3']], 'order kept');
  t.same(r.counts, [1, 2], 'each post with the number of SIP messages in it');
});

t.test('a full batch goes at once, busy shard or not', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 3, 1);
  box.addSip(msg('m1'), A);
  box.endOfTurn();
  t.equal(box.addSip(msg('m2'), A), false);
  t.equal(box.addSip(msg('m3'), A), false);
  t.equal(box.addSip(msg('m4'), A), true, 'batchMax reached: the caller flushes');
  box.flush();
  t.same(r.posts, [['m1'], ['m2', 'm3', 'm4']]);
});

t.test('flush() posts what is held (the pool\'s time limit on holding)', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 64, 1);
  box.addSip(msg('m1'), A);
  box.endOfTurn();
  box.addSip(msg('m2'), A);
  t.equal(box.endOfTurn(), true);
  box.flush();
  t.same(r.posts, [['m1'], ['m2']], 'posted without an answer to m1');
  box.acked(2);
  t.equal(box.inFlight, 0);
});

t.test('postsInFlight 0: a post every turn', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 64, 0);
  box.addSip(msg('m1'), A);
  box.endOfTurn();
  box.addSip(msg('m2'), A);
  t.equal(box.endOfTurn(), false);
  t.same(r.posts, [['m1'], ['m2']]);
});

t.test('an answer acknowledging more than we know of does not go below zero', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 64, 1);
  box.addSip(msg('m1'), A);
  box.endOfTurn();
  box.acked(5);
  t.equal(box.inFlight, 0);
  box.addSip(msg('m2'), A);
  t.equal(box.endOfTurn(), false, 'not held: nothing is unanswered');
  t.same(r.posts, [['m1'], ['m2']]);
});

t.test('postsInFlight 2: a second post goes unanswered; the third turn waits for the first answer', async (t) => {
  const r = recorder();
  const box = new ShardOutbox(r.post, 64, 2);
  box.addSip(msg('m1'), A);
  box.addSip(msg('m2'), A);
  t.equal(box.endOfTurn(), false);
  box.addSip(msg('m3'), A);
  t.equal(box.endOfTurn(), false, 'one post unanswered: another may go');
  box.addSip(msg('m4'), A);
  t.equal(box.endOfTurn(), true, 'two unanswered: held');
  box.addSip(msg('m5'), A);
  t.equal(box.endOfTurn(), true);
  box.acked(1);
  t.same(r.posts, [['m1', 'm2'], ['m3']], 'half of the first post answered: still two unanswered');
  box.acked(1);
  t.same(r.posts, [['m1', 'm2'], ['m3'], ['m4', 'm5']], 'the first post answered: the held ones go as one');
  box.acked(3);
  t.equal(box.inFlight, 0);
  box.addSip(msg('m6'), A);
  t.equal(box.endOfTurn(), false, 'all answered: no wait');
});
