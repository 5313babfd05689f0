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
  const salt = Buffer.from(n, 'base64url');
  salt[9] ^= 1;
  t.equal(nonces.check(salt.toString('base64url')), 'invalid');
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

t.test('salts from the pool stay unique across refills', async (t) => {
  const { nonces } = setup();
  const salts = new Set<string>();
  // 4 KB pool / 8-byte salts: 512 per fill, so 3000 nonces span several refills
  for (let i = 0; i < 3000; i++) salts.add(Buffer.from(nonces.issue(), 'base64url').subarray(8, 16).toString('hex'));
  t.equal(salts.size, 3000);
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

t.test('nc counters are kept for at least maxTracked nonces', async (t) => {
  const nonces = new NonceManager({ secret, ttlSeconds: 30, now: () => 1_700_000_000_000, maxTracked: 4 });
  const issued = Array.from({ length: 12 }, () => nonces.issue());
  for (const n of issued) t.ok(nonces.checkCount(n, 1));
  for (const n of issued.slice(-4)) t.notOk(nonces.checkCount(n, 1), 'a replay among the last 4 is refused');
});
