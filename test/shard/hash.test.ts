import t from 'tap';
import { callIdHash, fmix32, fnv1a32, jumpHash, shardFor } from '../../lib/shard/hash.js';

// Straight BigInt transcription of the Lamping-Veach reference, to cross-check the 32-bit halves.
function referenceJump(key: bigint, buckets: number): number {
  const mask = (1n << 64n) - 1n;
  let b = -1;
  let j = 0;
  while (j < buckets) {
    b = j;
    key = (key * 2862933555777941757n + 1n) & mask;
    j = Math.floor((b + 1) * (2147483648 / (Number(key >> 33n) + 1)));
  }
  return b;
}

t.test('fnv1a32 and fmix32 known vectors', async (t) => {
  t.equal(fnv1a32(''), 0x811c9dc5);
  t.equal(fnv1a32('a'), 0xe40c292c);
  t.equal(fnv1a32('foobar'), 0xbf9cf968);
  t.equal(fnv1a32('a84b4c76e66710@pc33.atlanta.com'), 3107837068); // from a C build
  t.equal(fmix32(0), 0);
  t.equal(fmix32(1), 1364076727);
  t.equal(fmix32(0xdeadbeef), 233162409);
  t.equal(callIdHash('a84b4c76e66710@pc33.atlanta.com'), 169760029);
});

t.test('jumpHash matches vectors from the C++ reference (uint64 key, double arithmetic)', async (t) => {
  const vectors: Array<[number, number, number]> = [
    [0, 1, 0], [0, 8, 0], [0, 65536, 0],
    [1, 5, 0], [1, 8, 6], [1, 100, 55], [1, 1000, 549], [1, 65536, 21134],
    [2, 5, 3], [2, 100, 62], [2, 1000, 338], [2, 65536, 3927],
    [42, 2, 1], [42, 5, 2], [42, 8, 2], [42, 100, 43], [42, 1000, 571], [42, 65536, 5747],
    [3735928559, 2, 1], [3735928559, 5, 3], [3735928559, 8, 5], [3735928559, 100, 87], [3735928559, 1000, 285], [3735928559, 65536, 64244],
    [4294967295, 5, 2], [4294967295, 8, 5], [4294967295, 100, 74], [4294967295, 1000, 875], [4294967295, 65536, 23215],
    [123456789, 8, 7], [123456789, 100, 34], [123456789, 1000, 294], [123456789, 65536, 42483],
    [2147483648, 5, 3], [2147483648, 8, 3], [2147483648, 100, 94], [2147483648, 1000, 618], [2147483648, 65536, 10736],
  ];
  for (const [key, buckets, want] of vectors) t.equal(jumpHash(key, buckets), want, `jump(${key}, ${buckets})`);
  t.equal(shardFor('a84b4c76e66710@pc33.atlanta.com', 8), 6);
  t.equal(shardFor('a84b4c76e66710@pc33.atlanta.com', 3), 0);
});

t.test('jumpHash equals a BigInt reference on many keys', async (t) => {
  let mismatches = 0;
  for (let i = 0; i < 5000; i++) {
    const key = callIdHash(`cid-${i}`);
    const buckets = 1 + (i % 300);
    if (jumpHash(key, buckets) !== referenceJump(BigInt(key), buckets)) mismatches++;
  }
  t.equal(mismatches, 0);
});

t.test('distribution: 100k Call-IDs over 8 shards within 5%', async (t) => {
  const counts = new Array<number>(8).fill(0);
  const n = 100_000;
  for (let i = 0; i < n; i++) counts[shardFor(`${i}-a84b4c76e66710@10.0.0.${i % 255}`, 8)]++;
  for (const c of counts) t.ok(Math.abs(c - n / 8) < (n / 8) * 0.05, `bucket count ${c}`);
});

t.test('consistency: growing 4 -> 5 moves ~1/5 of keys, all into bucket 4', async (t) => {
  const n = 100_000;
  let moved = 0;
  let movedElsewhere = 0;
  for (let i = 0; i < n; i++) {
    const h = callIdHash(`call-${i}@host`);
    const before = jumpHash(h, 4);
    const after = jumpHash(h, 5);
    if (before !== after) {
      moved++;
      if (after !== 4) movedElsewhere++;
    }
  }
  t.equal(movedElsewhere, 0);
  t.ok(Math.abs(moved / n - 0.2) < 0.01, `moved fraction ${moved / n}`);
});

t.test('edge buckets', async (t) => {
  t.equal(jumpHash(12345, 1), 0);
  t.equal(jumpHash(12345, 0), 0);
  for (let i = 0; i < 1000; i++) {
    const s = jumpHash(callIdHash(String(i)), 7);
    if (s < 0 || s >= 7) t.fail(`out of range ${s}`);
  }
});
