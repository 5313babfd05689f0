// The dialog table's compact storage: forked early dialogs per Call-ID, shared destinations,
// strings detached from the message text, and the tuple checkpoint round trip.
import t from 'tap';
import { DialogTable } from '../../lib/dialog/dialog-table.js';
import { detach } from '../../lib/sip/detach.js';
import { internTarget } from '../../lib/transport/intern-target.js';
import { DialogCheckpoints, packDialog, packWithPackr, unpackDialog } from '../../lib/shard/dialog-checkpoint.js';
import type { Dialog } from '../../lib/dialog/dialog-table.js';

const caller = { transport: 'udp' as const, address: '192.0.2.1', port: 5060 };
const callee = (port: number) => ({ transport: 'tcp' as const, address: '192.0.2.2', port, connId: 7 });
const base = (calleeTag: string, port: number) => ({
  callId: 'a-long-call-id@example.com', callerTag: 'caller-tag', calleeTag, callerContact: 'sip:a@192.0.2.1',
  callerDest: { ...caller }, calleeContact: undefined, calleeDest: callee(port), createdAt: 1000,
});

t.test('forked early dialogs: a failed INVITE ends each, a confirmed one stays', async (t) => {
  const table = new DialogTable();
  table.upsert(base('b1', 5070), false, 1);
  table.upsert(base('b2', 5071), false, 1);
  const d3 = table.upsert(base('b3', 5072), true, 2);
  t.same(table.stats(), { early: 2, confirmed: 1, total: 3 });
  table.terminateEarly('a-long-call-id@example.com', 'caller-tag');
  t.same(table.stats(), { early: 0, confirmed: 1, total: 1 });
  t.equal(table.find('a-long-call-id@example.com', 'b3', 'caller-tag'), d3);
  table.terminate(d3);
  t.same(table.stats(), { early: 0, confirmed: 0, total: 0 });
  table.terminateEarly('a-long-call-id@example.com', 'caller-tag'); // nothing left: no throw
});

t.test('find by Call-ID and tags in either order, among forks', async (t) => {
  const table = new DialogTable();
  const d1 = table.upsert(base('f1', 5070), false, 1);
  const d2 = table.upsert(base('f2', 5071), true, 1);
  t.equal(table.find('a-long-call-id@example.com', 'caller-tag', 'f1'), d1);
  t.equal(table.find('a-long-call-id@example.com', 'f2', 'caller-tag'), d2, 'from the callee side');
  t.equal(table.find('a-long-call-id@example.com', 'caller-tag', 'f3'), undefined, 'another fork');
  t.equal(table.find('a-long-call-id@example.com', 'f1', 'f2'), undefined, 'two callee tags');
  t.equal(table.find('other@example.com', 'caller-tag', 'f1'), undefined, 'another Call-ID');
  t.equal(table.upsert(base('f2', 5071), true, 2), d2, 'the same dialog again: found, not added');
  t.same(table.stats(), { early: 1, confirmed: 1, total: 2 });
  table.terminate(d1);
  t.equal(table.find('a-long-call-id@example.com', 'caller-tag', 'f1'), undefined, 'ended: gone');
  t.equal(table.find('a-long-call-id@example.com', 'caller-tag', 'f2'), d2);
  const keys: string[] = [];
  table.onConfirmedChange = (k) => { keys.push(k); };
  table.terminate(d2);
  t.same(keys, ['a-long-call-id@example.com|caller-tag|f2'], 'checkpoints keyed as before');
});

t.test('destinations are shared objects; strings keep their text', async (t) => {
  const table = new DialogTable();
  const a = table.upsert(base('x1', 5080), true, 1);
  const b = table.upsert({ ...base('x2', 5080), callId: 'other-call-id@example.com' }, true, 1);
  t.equal(a.callerDest, b.callerDest);
  t.equal(a.calleeDest, b.calleeDest);
  t.same(a.calleeDest, callee(5080));
  t.equal(internTarget({ ...caller, host: 'h.example.com' }).host, 'h.example.com');
  const long = 'x'.repeat(20) + '\u20ac' + 'y'.repeat(20);
  t.equal(detach(long), long);
  t.equal(detach('Call-ID: abcdefghijklmnop'.slice(9)), 'abcdefghijklmnop');
  t.equal(detach(undefined), undefined);
});

t.test('checkpoint round trip', async (t) => {
  const table = new DialogTable();
  const d = table.upsert({ ...base('z1', 5090), calleeContact: 'sip:b@192.0.2.2;transport=tcp', callerDest: { ...caller, host: 'pbx.example.com' } }, true, 5);
  const back = unpackDialog(packDialog(d));
  t.same(back, { ...d });
  t.equal(unpackDialog(new Uint8Array([0xc1])), undefined);
});

t.test('checkpoints are written byte for byte as msgpackr writes them, and read back', async (t) => {
  const d0: Dialog = {
    callId: 'a-long-call-id@example.com', callerTag: 'caller-tag', calleeTag: 'b1', state: 'confirmed',
    callerContact: 'sip:a@192.0.2.1', callerDest: { ...caller }, calleeContact: undefined, calleeDest: callee(5080),
    createdAt: 1_764_000_000_123, confirmedAt: 1_764_000_000_456,
  };
  const cases: Array<[string, Dialog]> = [
    ['usual', d0],
    ['not confirmed yet, no contacts', { ...d0, callerContact: undefined, confirmedAt: undefined }],
    ['latin-1, euro sign, emoji, lone surrogate', { ...d0, callId: 'caf\u00e9-\u20ac-\ud83d\ude00-\ud800@x', calleeContact: 'sip:\u00e9@192.0.2.2' }],
    ['31, 32, 255, 256 and 70,000-byte strings', { ...d0, callerTag: 'a'.repeat(31), calleeTag: 'b'.repeat(32), callerContact: 'c'.repeat(255), calleeContact: 'd'.repeat(256) }],
    ['too long for the scratch buffer', { ...d0, callId: 'e'.repeat(70_000) }],
    ['ports and connection ids of every width, a host', { ...d0, callerDest: { transport: 'tcp', address: '::1', port: 127, connId: 128, host: 'pbx.example.com' }, calleeDest: { transport: 'tls', address: '192.0.2.9', port: 65535, connId: 2 ** 32 + 5 } }],
    ['small numbers', { ...d0, callerDest: { transport: 'udp', address: '192.0.2.1', port: 0, connId: 255 }, calleeDest: { transport: 'udp', address: '192.0.2.1', port: 256, connId: 2 ** 32 - 1 }, createdAt: 0, confirmedAt: 70_000 }],
  ];
  for (const [name, d] of cases) {
    const bytes = packDialog(d);
    t.same([...bytes], [...packWithPackr(d)], name);
    t.equal(bytes.byteLength, bytes.buffer.byteLength, `${name}: an ArrayBuffer of its own`);
    // a lone surrogate has no UTF-8 form: both writers put U+FFFD in its place
    t.same(unpackDialog(bytes), { ...d, callId: d.callId.replace('\ud800', '\ufffd') }, `${name}: read back`);
  }
});

t.test('the main thread keeps checkpoints byte for byte, per shard, and hands each back in its own buffer', async (t) => {
  const cps = new DialogCheckpoints();
  const table = new DialogTable();
  const d = table.upsert({ ...base('k1', 5100), callerContact: 'sip:\u00e9@192.0.2.1' }, true, 5);
  const bytes = packDialog(d);
  const high = new Uint8Array([0, 0x7f, 0x80, 0xc1, 0xff]);
  cps.apply(0, 'a', bytes);
  cps.apply(0, 'b', high.subarray(1));
  cps.apply(1, 'a', new Uint8Array([1, 2, 3]));
  t.equal(cps.size, 3);
  const back = cps.forShard(0);
  t.same(back.map((u) => [...u]), [[...bytes], [0x7f, 0x80, 0xc1, 0xff]]);
  t.same(unpackDialog(back[0]!), { ...d });
  t.not(back[0]!.buffer, back[1]!.buffer, 'an ArrayBuffer each: posting one never clones a shared pool');
  t.equal(back[1]!.byteLength, back[1]!.buffer.byteLength);
  cps.apply(0, 'b', null);
  cps.apply(1, 'zz', null); // unknown key: nothing happens
  t.equal(cps.size, 2);
  t.same(cps.forShard(1).map((u) => [...u]), [[1, 2, 3]]);
  t.same(cps.forShard(7), []);
});
