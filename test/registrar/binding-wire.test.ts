// BindingUpdates cross threads as arrays (lib/registrar/binding-wire.ts): what arrives must be the
// update that left, optional fields absent where they were absent.
import t from 'tap';
import { deserialize, serialize } from 'node:v8';
import type { Binding, BindingUpdate } from '../../lib/registrar/binding.js';
import { bindingUpdateFromWire, bindingUpdateToWire } from '../../lib/registrar/binding-wire.js';

const bare: Binding = {
  contact: 'sip:alice@10.0.0.5:5060', expiresAt: 1_700_000_000_000, q: 1, callId: 'c1@h', cseq: 7,
  source: { transport: 'udp', address: '10.0.0.5', port: 5060, connId: 0 },
};
const full: Binding = {
  contact: 'sip:alice@[2001:db8::5]:5061;transport=tls;ob', expiresAt: 1_700_000_360_000, q: 0.5, callId: 'c2@h', cseq: 0,
  source: { transport: 'tls', address: '2001:db8::5', port: 40123, connId: 17 }, updatedAt: 1_700_000_000_123,
  instance: '<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>', regId: 0, path: ['<sip:edge1.example.com;lr>', '<sip:edge2.example.com;lr>'],
  userAgent: 'Phone/1.0 (tab\there, ünïcode)',
};

t.test('an update survives the trip, through a structured clone as postMessage makes', async (t) => {
  for (const u of [
    { aor: 'sip:alice@example.com', bindings: [bare, full] },
    { aor: 'sip:alice@example.com', bindings: [] },
  ] satisfies BindingUpdate[]) {
    const back = bindingUpdateFromWire(deserialize(serialize(bindingUpdateToWire(u))) as ReturnType<typeof bindingUpdateToWire>);
    t.strictSame(back, u);
    for (let i = 0; i < u.bindings.length; i++) t.same(Object.keys(back.bindings[i]!).sort(), Object.keys(u.bindings[i]!).sort(), 'no field added or lost');
  }
});

t.test('the wire form carries values only: no property names per binding', async (t) => {
  const w = bindingUpdateToWire({ aor: 'sip:a@h', bindings: [bare] });
  t.ok(Array.isArray(w.b[0]), 'a binding is an array');
  t.ok(serialize(w).length < serialize({ aor: 'sip:a@h', bindings: [bare] }).length, 'and clones smaller than the object');
});

t.test('a binding that arrives unchanged is the receiver\'s own object; a changed one is new', async (t) => {
  const wire = (bindings: Binding[]) => deserialize(serialize(bindingUpdateToWire({ aor: 'sip:alice@example.com', bindings }))) as ReturnType<typeof bindingUpdateToWire>;
  const refreshed: Binding = { ...full, expiresAt: full.expiresAt + 60_000, cseq: 1, updatedAt: full.updatedAt! + 60_000 };
  const back = bindingUpdateFromWire(wire([bare, refreshed]), [full, bare]);
  t.equal(back.bindings[0], bare, 'unchanged: the known object');
  t.not(back.bindings[1], full, 'refreshed: a new object');
  t.strictSame(back.bindings[1], refreshed);
  for (const changed of [
    { ...bare, source: { ...bare.source, port: 5070 } }, { ...bare, userAgent: 'x' }, { ...bare, path: ['<sip:p;lr>'] },
  ] satisfies Binding[]) {
    const b = bindingUpdateFromWire(wire([changed]), [bare]).bindings[0]!;
    t.not(b, bare);
    t.strictSame(b, changed);
  }
  const withPath = bindingUpdateFromWire(wire([full]), [{ ...full, path: ['<sip:edge1.example.com;lr>'] }]).bindings[0]!;
  t.strictSame(withPath.path, full.path, 'a different Path is a change');
});
