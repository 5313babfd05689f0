// The dialog table keeps one index, by Call-ID: listing, sweeping, restoring and taking dialogs
// work through it, forks included, and the counts stay right without a second Map by full key.
import t from 'tap';
import { DialogTable, type Dialog } from '../../lib/dialog/dialog-table.js';

const dest = { transport: 'udp' as const, address: '192.0.2.1', port: 5060 };
const answer = (callId: string, calleeTag: string, createdAt = 1000) => ({
  callId, callerTag: 'ct', calleeTag, callerContact: undefined, callerDest: dest,
  calleeContact: undefined, calleeDest: dest, createdAt,
});

t.test('list pages through every dialog, a fork\'s dialogs together', async (t) => {
  const table = new DialogTable();
  table.upsert(answer('c1', 'a'), true, 1);
  table.upsert(answer('c2', 'a'), false, 1);
  table.upsert(answer('c1', 'b'), false, 1); // a second fork of c1
  table.upsert(answer('c3', 'a'), true, 1);
  const ids = (ds: Dialog[]): string[] => ds.map((d) => `${d.callId}/${d.calleeTag}`);
  t.same(ids(table.list(0, 10)), ['c1/a', 'c1/b', 'c2/a', 'c3/a']);
  t.same(ids(table.list(1, 2)), ['c1/b', 'c2/a']);
  t.same(ids(table.list(4, 2)), []);
  t.same(table.stats(), { early: 2, confirmed: 2, total: 4 });
});

t.test('sweep ends old dialogs, forks too, and keeps young ones', async (t) => {
  const table = new DialogTable();
  const ended: string[] = [];
  table.onConfirmedChange = (k, d) => { if (d === undefined) ended.push(k); };
  table.upsert(answer('old', 'a', 0), true, 1);
  table.upsert(answer('old', 'b', 0), false, 1);
  table.upsert(answer('old', 'c', 0), true, 1);
  const young = table.upsert(answer('young', 'a', 900), true, 1);
  t.equal(table.sweep(1000, 500), 3);
  t.same(ended, ['old|a|ct', 'old|c|ct'], 'each confirmed one checkpointed as ended');
  t.same(table.stats(), { early: 0, confirmed: 1, total: 1 });
  t.equal(table.find('old', 'ct', 'b'), undefined);
  t.same(table.list(0, 10), [young]);
  t.same([...table.callIds()], ['young']);
});

t.test('restore adds a confirmed dialog once, beside a fork already there', async (t) => {
  const table = new DialogTable();
  table.upsert(answer('r1', 'a'), true, 1);
  const back = (calleeTag: string, state: Dialog['state'] = 'confirmed'): Dialog =>
    ({ ...answer('r1', calleeTag), state, confirmedAt: 2 });
  table.restore(back('a'));
  t.same(table.stats(), { early: 0, confirmed: 1, total: 1 }, 'the same tags: not added twice');
  const b = back('b');
  table.restore(b);
  table.restore(back('c', 'early'));
  t.same(table.stats(), { early: 0, confirmed: 2, total: 2 }, 'an early one is not restored');
  t.equal(table.find('r1', 'b', 'ct'), b);
  t.equal(table.take('r1').length, 2);
  t.same(table.stats(), { early: 0, confirmed: 0, total: 0 });
  t.equal(table.find('r1', 'ct', 'a'), undefined, 'taken: gone');
  t.same(table.list(0, 10), []);
});

t.test('terminateBetween ends the dialog of these tags, in either order, and only in the state asked', async (t) => {
  const table = new DialogTable();
  const ended: string[] = [];
  table.onConfirmedChange = (k, d) => { if (d === undefined) ended.push(k); };
  table.upsert(answer('e1', 'a'), true, 1);
  const early = table.upsert(answer('e1', 'b'), false, 1);
  table.terminateBetween('e1', 'a', 'ct', 'early');
  t.same(table.stats(), { early: 1, confirmed: 1, total: 2 }, 'a confirmed dialog is not ended as early');
  table.terminateBetween('e1', 'ct', 'b', 'early');
  t.equal(early.state, 'terminated');
  t.same(table.list(0, 10).map((d) => d.calleeTag), ['a'], 'the fork left is found through the Call-ID alone');
  table.terminateBetween('e1', 'zz', 'ct');
  table.terminateBetween('nope', 'a', 'ct');
  t.same(table.stats(), { early: 0, confirmed: 1, total: 1 }, 'no dialog of those tags: nothing ends');
  table.terminateBetween('e1', 'a', 'ct');
  t.same(table.stats(), { early: 0, confirmed: 0, total: 0 });
  t.same(ended, ['e1|a|ct']);
  t.same([...table.callIds()], []);
});

t.test('upsert with a known dialog: used only while it is the one of these tags and not ended', async (t) => {
  const table = new DialogTable();
  const early = table.upsert(answer('k1', 'a'), false, 1);
  t.equal(table.upsert(answer('k1', 'a'), true, 2, early), early, 'the 180\'s dialog, confirmed by the 200');
  t.equal(early.state, 'confirmed');
  t.equal(early.confirmedAt, 2);
  const fork = table.upsert(answer('k1', 'b'), true, 3, early);
  t.not(fork, early, 'a 200 with another To tag: a dialog of its own');
  t.same(table.stats(), { early: 0, confirmed: 2, total: 2 });
  table.terminate(fork);
  const again = table.upsert(answer('k1', 'b'), false, 4, fork);
  t.not(again, fork, 'an ended dialog is not brought back');
  t.equal(again.state, 'early');
  t.equal(table.find('k1', 'ct', 'b'), again);
});
