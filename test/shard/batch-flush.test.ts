// What a shard sends while it handles a batch goes back in one post at the batch's end, with no
// setImmediate of its own; what timers send (retransmissions) is posted on a later turn.
import t from 'tap';
import { randomBytes } from 'node:crypto';
import type { FromShardBatch } from '../../lib/shard/channel.js';
import { ShardRuntime } from '../../lib/shard/shard-runtime.js';
import { ManualClock } from '../../lib/txn/timers.js';
import { testConfig } from '../helpers/proxy-harness.js';
import { CALLER, invite } from '../helpers/shard-harness.js';

const ROUTE = { routes: [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] };

function shard(posts: FromShardBatch[], clock: ManualClock): ShardRuntime {
  const config = testConfig({ listen: [{ transport: 'udp', address: '127.0.0.1', port: 5060 }], ...ROUTE });
  return new ShardRuntime(
    { shardId: 0, shardCount: 1, config, listeners: [{ transport: 'udp', address: '127.0.0.1', port: 5060 }], nonceSecret: randomBytes(32), location: new Uint8Array(0) },
    (b) => posts.push(b), clock, false,
  );
}

const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

t.test('a batch posts once, with everything it sent, and schedules nothing', async (t) => {
  const posts: FromShardBatch[] = [];
  const clock = new ManualClock();
  const rt = shard(posts, clock);
  t.teardown(() => rt.stop());
  await turn();
  posts.length = 0;
  const real = globalThis.setImmediate;
  let scheduled = 0;
  globalThis.setImmediate = ((fn: (...a: unknown[]) => void, ...a: unknown[]) => { scheduled++; return real(fn, ...a); }) as typeof setImmediate;
  try {
    const wire = invite({ callId: 'bf-1', branch: 'z9hG4bK-bf1' }).replace(/\r?\n/g, '\r\n');
    rt.handleBatch([{ t: 'sip', d: Buffer.from(wire, 'latin1'), s: CALLER }]);
  } finally {
    globalThis.setImmediate = real;
  }
  t.equal(scheduled, 0, 'no setImmediate for sends made inside the batch');
  t.equal(posts.length, 1, 'one post');
  t.equal(posts[0]!.n, 1, 'acknowledging the one message');
  const sent = posts[0]!.out.filter((o) => o.t === 'sip').map((o) => Buffer.from(o.t === 'sip' ? o.d : []).toString('latin1').split('\r\n')[0]);
  t.same(sent, ['SIP/2.0 100 Trying', 'INVITE sip:9000@127.0.0.1:5080 SIP/2.0'], 'the 100 and the forwarded INVITE');
  await turn();
  t.equal(posts.length, 1, 'nothing posted later');

  // Timer A (500 ms): the retransmission goes out on a turn of its own
  clock.t += 600;
  rt.timers.advance();
  t.equal(posts.length, 1, 'not posted from inside the timer');
  await turn();
  t.equal(posts.length, 2, 'posted on the next turn');
  t.match(Buffer.from(posts[1]!.out[0]!.t === 'sip' ? posts[1]!.out[0]!.d : []).toString('latin1'), /^INVITE /);
});
