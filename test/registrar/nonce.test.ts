import t from 'tap';
import { NonceManager } from '../../lib/registrar/nonce.js';

const secret = Buffer.alloc(32, 7);

function setup() {
  const clock = { ms: 1_700_000_000_000 };
  const nonces = new NonceManager({ secret, ttlSeconds: 30, now: () => clock.ms });
  return { clock, nonces };
}

t.test('a fresh nonce is valid, on any manager sharing the secret', async (t) => {
  const { clock, nonces } = setup();
  const n = nonces.issue();
  t.match(n, /^[A-Za-z0-9_-]{43}$/);
  t.not(nonces.issue(), n, 'unique even within one millisecond');
  t.equal(nonces.check(n), 'valid');
  const otherShard = new NonceManager({ secret, ttlSeconds: 30, now: () => clock.ms });
  t.equal(otherShard.check(n), 'valid');
  t.equal(new NonceManager({ secret: Buffer.alloc(32, 8), ttlSeconds: 30, now: () => clock.ms }).check(n), 'invalid');
});

t.test('stale after the ttl, not before', async (t) => {
  const { clock, nonces } = setup();
  const n = nonces.issue();
  clock.ms += 30_000;
  t.equal(nonces.check(n), 'valid');
  clock.ms += 1;
  t.equal(nonces.check(n), 'stale');
});

t.test('tampered or malformed nonces are invalid', async (t) => {
  const { nonces } = setup();
  const n = nonces.issue();
  const bytes = Buffer.from(n, 'base64url');
  bytes[7] ^= 1; // move the timestamp without the MAC
  t.equal(nonces.check(bytes.toString('base64url')), 'invalid');
  const seq = Buffer.from(n, 'base64url');
  seq[9] ^= 1;
  t.equal(nonces.check(seq.toString('base64url')), 'invalid');
  const issuer = Buffer.from(n, 'base64url');
  issuer[13] ^= 1;
  t.equal(nonces.check(issuer.toString('base64url')), 'invalid');
  const mac = Buffer.from(n, 'base64url');
  mac[30] ^= 0x80;
  t.equal(nonces.check(mac.toString('base64url')), 'invalid');
  t.equal(nonces.check(''), 'invalid');
  t.equal(nonces.check(n + 'A'), 'invalid');
  t.equal(nonces.check(n.slice(0, 42) + '='), 'invalid');
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
  const last = alphabet[alphabet.indexOf(n[42]!) ^ 1]!; // same 32 bytes, other spelling
  t.equal(nonces.check(n.slice(0, 42) + last), 'invalid', 'non-canonical base64url');
});

t.test('nc must strictly increase per nonce', async (t) => {
  const { nonces } = setup();
  const a = nonces.issue();
  t.ok(nonces.checkCount(a, 1));
  t.notOk(nonces.checkCount(a, 1), 'replay of the same nc');
  t.ok(nonces.checkCount(a, 3), 'gaps are fine');
  t.notOk(nonces.checkCount(a, 2), 'going back is not');
  t.notOk(nonces.checkCount(a, 0));
  t.notOk(nonces.checkCount(a, Number.NaN));
  t.ok(nonces.checkCount('another', 1), 'counted per nonce');
});

t.test('bad options are refused', async (t) => {
  t.throws(() => new NonceManager({ secret: Buffer.alloc(4), ttlSeconds: 30, now: Date.now }), { code: 'SIP_ERR_CONFIG' });
  t.throws(() => new NonceManager({ secret, ttlSeconds: 0, now: Date.now }), { code: 'SIP_ERR_CONFIG' });
});

t.test('the MAC is HMAC-SHA256 as node:crypto computes it, for short and long secrets and bindings', async (t) => {
  const { createHmac } = await import('node:crypto');
  for (const key of [Buffer.alloc(16, 1), Buffer.alloc(64, 2), Buffer.alloc(100, 3)]) {
    const nonces = new NonceManager({ secret: key, ttlSeconds: 30, now: () => 1_700_000_000_000 });
    for (const binding of ['', '1-4821@127.0.0.1', 'x'.repeat(1000), 'caf\u00e9@h']) {
      const raw = Buffer.from(nonces.issue(binding), 'base64url');
      const want = createHmac('sha256', key).update(raw.subarray(0, 16)).update(binding, 'latin1').digest().subarray(0, 16);
      t.ok(raw.subarray(16).equals(want), `key ${key.length} B, binding ${binding.length} chars`);
      t.equal(nonces.check(raw.toString('base64url'), binding), 'valid');
    }
  }
});

t.test('each nonce carries its issuer and its place in the issuer\'s sequence', async (t) => {
  const { clock, nonces } = setup();
  const other = new NonceManager({ secret, ttlSeconds: 30, now: () => clock.ms });
  const raw = (n: string): Buffer => Buffer.from(n, 'base64url');
  const mine = Array.from({ length: 3000 }, () => raw(nonces.issue()));
  const issuer = mine[0]!.readUInt32BE(12);
  mine.forEach((b, i) => {
    if (b.readUInt32BE(8) !== i || b.readUInt32BE(12) !== issuer) t.fail(`nonce ${i}: sequence ${b.readUInt32BE(8)}, issuer ${b.readUInt32BE(12)}`);
  });
  t.equal(new Set(mine.map((b) => b.subarray(0, 16).toString('hex'))).size, 3000, 'unique within one millisecond');
  t.not(raw(other.issue()).readUInt32BE(12), issuer, 'another manager has another issuer tag');
});

t.test('a nonce issued here is valid only with the binding it was issued for, and goes stale on time', async (t) => {
  const { clock, nonces } = setup();
  const n = nonces.issue('call-1@h');
  t.equal(nonces.check(n, 'call-2@h'), 'invalid', 'another Call-ID');
  t.equal(nonces.check(n), 'invalid', 'no binding');
  t.equal(nonces.check(n, 'call-1@h'), 'valid');
  clock.ms += 30_001;
  t.equal(nonces.check(n, 'call-1@h'), 'stale');
  const late = new NonceManager({ secret, ttlSeconds: 30, now: () => clock.ms, notBefore: clock.ms + 1 });
  t.equal(late.check(late.issue('x'), 'x'), 'stale', 'issued before notBefore');
});

t.test('the issue time survives the 64-bit encoding beyond 32 bits', async (t) => {
  const at = 0x1_2345_6789_ab;
  const nonces = new NonceManager({ secret, ttlSeconds: 30, now: () => at });
  const raw = Buffer.from(nonces.issue(), 'base64url');
  t.equal(raw.readBigUInt64BE(0), BigInt(at));
});

t.test('nc counters of our own nonces: kept for the last trackedNonces issued; an older nonce of ours is refused, not counted afresh', async (t) => {
  const nonces = new NonceManager({ secret, ttlSeconds: 30, now: () => 1_700_000_000_000, trackedNonces: 4 });
  const issued = Array.from({ length: 12 }, () => nonces.issue());
  for (const n of issued.slice(0, 8)) t.notOk(nonces.checkCount(n, 1), 'its counter is gone: stale');
  for (const n of issued.slice(-4)) t.ok(nonces.checkCount(n, 1));
  for (const n of issued.slice(-4)) t.notOk(nonces.checkCount(n, 1), 'a replay among the last 4 is refused');
  t.ok(nonces.checkCount(issued[11]!, 0xffffffff), 'the largest nc of 8 hex digits');
  t.notOk(nonces.checkCount(issued[11]!, 0xffffffff));
  nonces.issue();
  t.notOk(nonces.checkCount(issued[8]!, 2), 'pushed out by the next nonce issued');
  t.ok(nonces.checkCount(issued[9]!, 2));
});

t.test('nc counters of another manager\'s nonces are kept for at least maxTracked', async (t) => {
  const clock = { ms: 1_700_000_000_000 };
  const issuer = new NonceManager({ secret, ttlSeconds: 30, now: () => clock.ms });
  const nonces = new NonceManager({ secret, ttlSeconds: 30, now: () => clock.ms, maxTracked: 4 });
  const issued = Array.from({ length: 12 }, () => issuer.issue('c'));
  for (const n of issued) {
    t.equal(nonces.check(n, 'c'), 'valid');
    t.ok(nonces.checkCount(n, 1));
  }
  for (const n of issued.slice(-4)) t.notOk(nonces.checkCount(n, 1), 'a replay among the last 4 is refused');
  t.ok(nonces.checkCount(issued[11]!, 5));
  t.notOk(nonces.checkCount(issued[11]!, 5));
  t.ok(issuer.checkCount(issued[11]!, 1), 'the issuer counts its own apart');
});

t.test('a nonce read from its text: tampered sequence or issuer characters are not ours', async (t) => {
  const { nonces } = setup();
  const n = nonces.issue('c');
  t.equal(nonces.check(n, 'c'), 'valid');
  for (const i of [8, 11, 12, 15, 16, 21]) {
    const bad = n.slice(0, i) + (n[i] === 'A' ? 'B' : 'A') + n.slice(i + 1);
    t.equal(nonces.check(bad, 'c'), 'invalid', `character ${i} changed`);
    const odd = n.slice(0, i) + '!' + n.slice(i + 1);
    t.equal(nonces.check(odd, 'c'), 'invalid', `character ${i} not base64url`);
    if (i < 16) t.notOk(nonces.checkCount(odd, 1), 'our issuer, no readable sequence: not counted');
    else t.ok(nonces.checkCount(odd, 1), 'no readable issuer: counted as another manager\'s');
  }
  t.ok(nonces.checkCount(n, 1), 'the real one still counts from 1');
});
