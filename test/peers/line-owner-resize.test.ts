// A change of worker count moves a line's registration to its new owner shard: the old owner
// stops refreshing, the new one registers at once with a Call-ID that hashes to it among the new
// count, and the line's state (registered) carries over, so the admin API never shows a gap.
import t from 'tap';
import { shardFor } from '../../lib/shard/hash.js';
import { ownerShard } from '../../lib/shard/owned-callid.js';
import type { LineState } from '../../lib/peers/peer-state.js';
import { ShardHarness, type Sent } from '../helpers/shard-harness.js';
import { PROVIDER, reply } from '../helpers/provider.js';

/** A line name owned by shard 0 among 1 (always) and by shard 1 among 2. */
function lineMovingTo1(): string {
  for (let i = 0; ; i++) if (ownerShard(`prov${i}`, 2) === 1) return `prov${i}`;
}

const registers = (h: ShardHarness): Sent[] => h.take().filter((s) => s.msg.method === 'REGISTER' && s.msg.isRequest);

t.test('growing 1 -> 2 hands a registered line to its new owner without a gap', async (t) => {
  const name = lineMovingTo1();
  const lines = [{ name, registrar: `sip:127.0.0.1:${PROVIDER.port}`, username: 'acct1', password: 'linepass', domain: 'provider.example' }];
  const old = new ShardHarness({ lines }, { shardId: 0, shardCount: 1 });
  t.teardown(() => old.close());
  old.runtime.flush();
  const [first] = registers(old);
  old.receive(reply(first!.msg, 200, 'OK', [`Contact: ${first!.msg.get('contact')};expires=600`]), PROVIDER);
  const registered = old.runtime.peers.states.get(name) as LineState;
  t.equal(registered.state, 'registered');

  // the main thread broadcasts the published state to every shard, the new one gets it at init
  const next = new ShardHarness({ lines }, { shardId: 1, shardCount: 1 });
  t.teardown(() => next.close());
  next.runtime.handleBatch([{ t: 'peer', s: registered }]);
  next.take();

  old.runtime.handleBatch([{ t: 'reshard', count: 2 }]);
  next.runtime.handleBatch([{ t: 'reshard', count: 2 }]);
  t.same(registers(old), [], 'the old owner sends nothing');
  old.advance(600_000);
  t.same(registers(old), [], 'and never refreshes again');

  const [moved] = registers(next);
  t.ok(moved, 'the new owner registers at once');
  t.equal(shardFor(moved!.msg.callId, 2), 1, 'with a Call-ID whose answers come back to it');
  t.not(moved!.msg.callId, first!.msg.callId);
  const s = next.runtime.peers.states.get(name) as LineState;
  t.match(s, { state: 'registered', shard: 1 }, 'still registered meanwhile (its binding at the provider holds)');
  next.receive(reply(moved!.msg, 200, 'OK', [`Contact: ${moved!.msg.get('contact')};expires=600`]), PROVIDER);
  t.match(next.runtime.peers.states.get(name), { state: 'registered', shard: 1, lastStatus: 200 });
});
