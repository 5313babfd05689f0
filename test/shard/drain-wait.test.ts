// The drain's wait for open transactions: what it reports when the shards answer, and when they
// do not answer before the deadline (still warming up after a start, or dead): unknown, not "0".
import t from 'tap';
import type { ShardStatsReport } from '../../lib/shard/channel.js';
import { waitForPending } from '../../lib/shard/drain.js';

const report = (pending: number): ShardStatsReport => ({ pending } as unknown as ShardStatsReport);

t.test('answers: 0 once nothing is pending, else what was left at the deadline', async (t) => {
  let n = 2;
  t.equal(await waitForPending(async () => [report(n--)], 2000), 0, 'drained after two rounds');
  t.equal(await waitForPending(async () => [report(1), report(2)], 250), 3, 'three left at the deadline');
});

t.test('no answer before the deadline: -1 (unknown), not 0', async (t) => {
  const never = (): Promise<ShardStatsReport[]> => new Promise(() => undefined);
  const started = Date.now();
  t.equal(await waitForPending(never, 200), -1);
  t.ok(Date.now() - started < 1000, 'the deadline bounds the wait');
  let first = true;
  const laterSilent = async (): Promise<ShardStatsReport[]> => {
    if (first) { first = false; return [report(4)]; }
    return never();
  };
  t.equal(await waitForPending(laterSilent, 300), 4, 'the last count known when a later round did not answer');
});
