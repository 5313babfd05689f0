// The journal alone: replay over a snapshot, a torn last record, compaction, version 1 snapshots,
// puts held and written as one group.
import t from 'tap';
import { appendFileSync, mkdtempSync, statSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { Journal } from '../../lib/persist/journal.js';
import { PersistentLocation } from '../../lib/registrar/location-persistence.js';
import { createLogger } from '../../lib/log.js';

const tmp = (): string => join(mkdtempSync(join(tmpdir(), 'journal-')), 'state.msgpack');

t.test('puts survive without close (crash) and replay in order', async (t) => {
  const path = tmp();
  const a = new Journal({ path, fsync: 'never' });
  a.load();
  a.put('x', 'k1', { n: 1 });
  a.put('x', 'k2', { n: 2 });
  a.put('x', 'k1', { n: 3 });
  a.put('x', 'k2', undefined);
  a.put('peer', 'trunk-a', { rel100: 'disable' });
  // no close(): what a kill -9 leaves
  const b = new Journal({ path, fsync: 'never' });
  const s = b.load();
  t.same([...s.get('x')!], [['k1', { n: 3 }]]);
  t.same(s.get('peer')!.get('trunk-a'), { rel100: 'disable' }, 'any namespace, e.g. learned peer state');
  b.close();
});

t.test('a torn last record is cut off; earlier ones stay', async (t) => {
  const path = tmp();
  const a = new Journal({ path, fsync: 'always' });
  a.load();
  a.put('x', 'k1', 'one');
  a.put('x', 'k2', 'two');
  const size = statSync(`${path}.wal`).size;
  truncateSync(`${path}.wal`, size - 3); // the crash hit the middle of the second write
  const b = new Journal({ path, fsync: 'never' });
  const s = b.load();
  t.same([...s.get('x')!], [['k1', 'one']]);
  t.equal(b.stats.tornRecords, 1);
  b.put('x', 'k3', 'three'); // appended after the cut, not after the garbage
  const c = new Journal({ path, fsync: 'never' });
  t.same([...c.load().get('x')!], [['k1', 'one'], ['k3', 'three']]);
  appendFileSync(`${path}.wal`, Buffer.from([0, 0, 0, 9, 1, 2, 3, 4, 5])); // garbage tail
  t.same([...new Journal({ path, fsync: 'never' }).load().get('x')!], [['k1', 'one'], ['k3', 'three']]);
});

t.test('compaction: snapshot written, log emptied, state identical', async (t) => {
  const path = tmp();
  const state = new Map<string, unknown>();
  const a = new Journal({ path, fsync: 'never', compactBytes: 4096 });
  a.load();
  a.provide('x', () => state.entries());
  for (let i = 0; i < 500; i++) {
    state.set(`k${i % 50}`, i);
    a.put('x', `k${i % 50}`, i);
  }
  t.ok(a.stats.compactions > 0, `compacted ${a.stats.compactions} times`);
  t.ok(statSync(`${path}.wal`).size < 4096);
  const s = new Journal({ path, fsync: 'never' }).load().get('x')!;
  t.same([...s].sort(), [...state].sort());
});

t.test('held puts reach the log only at flush(), all in one write', async (t) => {
  const path = tmp();
  const a = new Journal({ path, fsync: 'always' });
  a.load();
  a.put('x', 'k0', 'alone');
  t.same([a.stats.puts, a.stats.writes], [1, 1], 'not held: written before put() returns');
  const before = statSync(`${path}.wal`).size;
  a.hold();
  a.put('x', 'k1', 'one');
  a.put('x', 'k2', { n: 2 });
  a.put('x', 'k0', undefined);
  t.equal(statSync(`${path}.wal`).size, before, 'nothing written while held');
  t.same([a.stats.puts, a.stats.writes], [1, 1]);
  a.flush();
  t.ok(statSync(`${path}.wal`).size > before, 'written at the flush');
  t.same([a.stats.puts, a.stats.writes, a.stats.errors], [4, 2, 0], 'three records, one write');
  a.flush();
  t.equal(a.stats.writes, 2, 'an empty flush writes nothing');
  a.put('x', 'k3', 'three');
  t.equal(a.stats.writes, 3, 'the flush ended the hold');
  // no close(): what a kill -9 leaves
  t.same([...new Journal({ path, fsync: 'never' }).load().get('x')!], [['k1', 'one'], ['k2', { n: 2 }], ['k3', 'three']]);
});

t.test('a group larger than the assembly buffer is written whole, and the next one too', async (t) => {
  const path = tmp();
  const a = new Journal({ path, fsync: 'never' });
  a.load();
  const big = 'v'.repeat(1000);
  a.hold();
  for (let i = 0; i < 300; i++) a.put('x', `k${i}`, `${i}:${big}`); // ~300 kB, past the 64 kB buffer
  a.flush();
  a.hold();
  a.put('x', 'after', 'small');
  a.flush();
  t.equal(a.stats.writes, 2);
  const s = new Journal({ path, fsync: 'never' }).load().get('x')!;
  t.equal(s.size, 301);
  t.equal(s.get('k299'), `299:${big}`);
  t.equal(s.get('after'), 'small');
});

t.test('compaction while held writes the held puts first: the snapshot is not replayed over', async (t) => {
  const path = tmp();
  const state = new Map<string, unknown>([['k', 'old']]);
  const a = new Journal({ path, fsync: 'never' });
  a.load();
  a.provide('x', () => state.entries());
  a.hold();
  a.put('x', 'k', 'old');
  state.set('k', 'new'); // a later change, already in the state compaction dumps
  a.compact();
  a.flush();
  t.equal(a.stats.compactions, 1);
  t.same([...new Journal({ path, fsync: 'never' }).load().get('x')!], [['k', 'new']]);
});

t.test('a version 1 location snapshot is still read', async (t) => {
  const path = tmp();
  const binding = { contact: 'sip:a@127.0.0.1:5070', expiresAt: Date.now() + 60_000, q: 1, callId: 'c', cseq: 1, source: { transport: 'udp', address: '127.0.0.1', port: 5070, connId: 0 } };
  writeFileSync(path, new Packr({ useRecords: false }).pack({ v: 1, updates: [{ aor: 'sip:a@127.0.0.1', bindings: [binding] }] }));
  const loc = new PersistentLocation(path, createLogger('silent'));
  t.same(loc.store.size(), { aors: 1, bindings: 1 });
  loc.close();
});
