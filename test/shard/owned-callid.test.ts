import t from 'tap';
import { callIdForShard, ownerShard } from '../../lib/shard/owned-callid.js';
import { shardFor } from '../../lib/shard/hash.js';

t.test('a Call-ID made for shard k hashes to shard k, so responses come back to it', async (t) => {
  for (const n of [1, 2, 3, 8, 64]) {
    for (let k = 0; k < n; k++) {
      const id = callIdForShard(k, n, 'sipshard.line');
      t.equal(shardFor(id, n), k, `${id} -> ${k} of ${n}`);
      t.match(id, /^[0-9a-f]{18}@sipshard\.line$/);
    }
  }
});

t.test('every shard computes the same owner for a peer', async (t) => {
  t.equal(ownerShard('cmcc', 4), ownerShard('cmcc', 4));
  t.ok(ownerShard('cmcc', 4) >= 0 && ownerShard('cmcc', 4) < 4);
  t.equal(ownerShard('x', 1), 0);
});
