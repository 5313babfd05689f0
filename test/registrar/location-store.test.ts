import t from 'tap';
import type { Binding } from '../../lib/registrar/binding.js';
import { canonicalAor, LocationStore } from '../../lib/registrar/location-store.js';

const T0 = 1_700_000_000_000;
const AOR = 'sip:alice@example.com';

function binding(contact: string, over: Partial<Binding> = {}): Binding {
  return {
    contact, expiresAt: T0 + 60_000, q: 1, callId: 'c1', cseq: 1, updatedAt: T0,
    source: { transport: 'udp', address: '192.0.2.10', port: 5060, connId: 0 }, ...over,
  };
}

t.test('lookup drops expired bindings; purge removes them and reports the change', async (t) => {
  const store = new LocationStore();
  store.replace({ aor: AOR, bindings: [binding('sip:a@h1', { expiresAt: T0 + 10_000 }), binding('sip:a@h2')] });
  store.replace({ aor: 'sip:bob@example.com', bindings: [binding('sip:b@h3', { expiresAt: T0 + 5_000 })] });
  t.same(store.size(), { aors: 2, bindings: 3 });
  t.equal(store.lookup(AOR, T0).length, 2);
  t.same(store.lookup(AOR, T0 + 10_000).map((b) => b.contact), ['sip:a@h2'], 'expiresAt is exclusive');
  t.same(store.lookup('sip:nobody@example.com', T0), []);
  t.same(store.purgeExpired(T0 + 1), [], 'nothing expired yet');
  const updates = store.purgeExpired(T0 + 20_000);
  t.same(updates.map((u) => [u.aor, u.bindings.map((b) => b.contact)]), [[AOR, ['sip:a@h2']], ['sip:bob@example.com', []]]);
  t.same(store.size(), { aors: 1, bindings: 1 });
  t.same([...store.aors()], [AOR]);
});

t.test('highest q first, then the most recently refreshed', async (t) => {
  const store = new LocationStore();
  store.replace({
    aor: AOR,
    bindings: [
      binding('sip:a@old', { q: 0.5, updatedAt: T0 }),
      binding('sip:a@low', { q: 0.1, updatedAt: T0 + 9 }),
      binding('sip:a@new', { q: 0.5, updatedAt: T0 + 5 }),
      binding('sip:a@top', { q: 1, updatedAt: T0 - 100 }),
    ],
  });
  t.same(store.lookup(AOR, T0).map((b) => b.contact), ['sip:a@top', 'sip:a@new', 'sip:a@old', 'sip:a@low']);
});

t.test('replace with an empty set removes the AOR', async (t) => {
  const store = new LocationStore();
  store.replace({ aor: AOR, bindings: [binding('sip:a@h1'), binding('sip:a@h2')] });
  store.replace({ aor: AOR, bindings: [binding('sip:a@h3')] });
  t.same(store.size(), { aors: 1, bindings: 1 });
  store.replace({ aor: AOR, bindings: [] });
  t.same(store.size(), { aors: 0, bindings: 0 });
});

t.test('snapshot and restore round-trip', async (t) => {
  const store = new LocationStore();
  const full = binding('sip:a@h1;transport=tcp', {
    q: 0.7, instance: '<urn:uuid:00000000-0000-1000-8000-000A95A0E128>', regId: 1,
    path: ['<sip:edge.example.com;lr>'], userAgent: 'Phone/1.0',
    source: { transport: 'tls', address: '2001:db8::1', port: 5061, connId: 42 },
  });
  store.replace({ aor: AOR, bindings: [full, binding('sip:a@h2')] });
  store.replace({ aor: 'sip:bob@example.com', bindings: [binding('sip:b@h3')] });
  const buf = store.snapshot();
  t.ok(Buffer.isBuffer(buf));
  store.snapshot(); // a second pack must not overwrite the first (msgpackr reuses its arena)
  const copy = LocationStore.restore(buf);
  t.same(copy.size(), store.size());
  t.same(copy.lookup(AOR, T0), store.lookup(AOR, T0));
  t.same(copy.lookup('sip:bob@example.com', T0), store.lookup('sip:bob@example.com', T0));
  t.throws(() => LocationStore.restore(Buffer.from([0xc1])), { code: 'SIP_ERR_SNAPSHOT' });
  t.throws(() => LocationStore.restore(Buffer.from([0x90])), { code: 'SIP_ERR_SNAPSHOT' }, 'an empty array is not a snapshot');
});

t.test('canonical AOR: unescaped user, lower-case host, no port or parameters, sips folded', async (t) => {
  t.equal(canonicalAor('sip:alice@Example.COM:5070;transport=tcp'), AOR);
  t.equal(canonicalAor('sips:al%69ce@example.com'), AOR);
  t.equal(canonicalAor('sip:example.com'), undefined);
  t.equal(canonicalAor('tel:+15551234'), undefined);
  t.equal(canonicalAor('not a uri'), undefined);
});
