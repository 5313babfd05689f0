import t from 'tap';
import { TwoGenerationMap } from '../../lib/registrar/two-generation-map.js';

t.test('keeps at least the last `generation` keys written, at most twice that', async (t) => {
  const m = new TwoGenerationMap<number>(3);
  for (let i = 0; i < 10; i++) m.set(`k${i}`, i);
  for (let i = 7; i < 10; i++) t.equal(m.get(`k${i}`), i, `k${i} kept`);
  const kept = Array.from({ length: 10 }, (_, i) => m.get(`k${i}`)).filter((v) => v !== undefined);
  t.ok(kept.length <= 6, `${kept.length} kept`);
  t.equal(m.get('k0'), undefined, 'the oldest forgotten');
});

t.test('a rewrite of a key in the old generation wins over its old value', async (t) => {
  const m = new TwoGenerationMap<number>(2);
  m.set('a', 1);
  m.set('b', 2);
  m.set('c', 3); // a, b now old
  m.set('a', 4);
  t.equal(m.get('a'), 4);
  t.equal(m.get('b'), 2);
});
