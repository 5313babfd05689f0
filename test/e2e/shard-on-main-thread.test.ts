// workers: 0: the one shard runs on the main thread. No shard thread exists, sipp's calls go
// through the static route and all end, the count cannot change while running (restart-only), and
// the admin figures say 0 workers.
import t from 'tap';
import { readdirSync, readFileSync } from 'node:fs';
import { SHARD_THREAD_PREFIX } from '../../lib/shard/thread-name.js';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, sippReport, startSipp, summary } from '../helpers/sipp.js';
import { settledShardTotals } from '../helpers/shard-totals.js';

const CALLS = 300;
const RATE = 100;

t.setTimeout(90_000);

/** Names of this process's threads (Linux). */
function threadNames(): string[] {
  return readdirSync('/proc/self/task').map((id) => { try { return readFileSync(`/proc/self/task/${id}/comm`, 'latin1').trim(); } catch { return ''; } });
}

if (requireSipp(t)) {
  t.test(`workers: 0 carries ${CALLS} calls at ${RATE}/s with no shard thread`, async (t) => {
    const uasPort = await freeUdpPort();
    const routes = [{ prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' }];
    const threadsBefore = threadNames().length;
    const proxy = await startTestProxy({ workers: 0, routes });
    t.teardown(() => proxy.close());
    t.equal(proxy.pool.workerThreads, 0, 'no worker thread');
    t.equal(proxy.pool.size, 1, 'Call-IDs hash into one shard');
    t.same(threadNames().filter((n) => n.startsWith(SHARD_THREAD_PREFIX)), [], 'no thread is named as a shard');
    t.ok(threadNames().length <= threadsBefore + 1, `no thread pool started (${threadsBefore} -> ${threadNames().length} threads)`);

    const uas = await startSipp(['-sn', 'uas', ...await loopbackArgs(uasPort)], { timeoutMs: 60_000 });
    t.teardown(() => uas.stop());
    const uac = await runSipp([
      '-sn', 'uac', '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', String(RATE), '-d', '100', '-timeout', '30s', '-timeout_error',
    ], { timeoutMs: 30_000 });
    const caller = summary(uac);
    const callee = summary(await uas.stop());
    t.equal(caller.successful, CALLS, 'all calls successful', { sipp: sippReport(uac) });
    t.equal(caller.failed, 0);
    t.equal(callee.incoming, CALLS, 'the UAS saw every call');

    const totals = await settledShardTotals(proxy, (s) => s.confirmed === 0);
    t.equal(totals.confirmed, 0, 'no confirmed dialog left after the BYEs');
    t.equal(totals.internalErrors, 0, 'no internal errors');
    t.equal(proxy.pool.inlineErrors, 0, 'no batch failed');

    await t.rejects(proxy.resize(2), { code: 'SIP_ERR_RESIZE_COUNT', message: /restart the proxy/ }, 'no live change to threads');
    await t.rejects(proxy.reload({ ...proxy.config, workers: 2 }), { code: 'SIP_ERR_CONFIG', message: /workers: 0 -> 2: to or from 0 \(the shard on the main thread\) is read only at start/ }, 'nor by a reload');
    t.equal(proxy.pool.workerThreads, 0, 'still on the main thread');
    await proxy.reload({ ...proxy.config, workers: 0 });
    t.pass('a reload that keeps workers: 0 is taken');
  });
}

t.test('a running proxy with worker threads cannot change to workers: 0', async (t) => {
  const proxy = await startTestProxy({ workers: 1 });
  t.teardown(() => proxy.close());
  await t.rejects(proxy.reload({ ...proxy.config, workers: 0 }), { code: 'SIP_ERR_CONFIG', message: /workers: 1 -> 0: to or from 0/ });
  await t.rejects(proxy.resize(0), { code: 'SIP_ERR_RESIZE_COUNT', message: /workers: 1 -> 0/ });
  t.equal(proxy.pool.workerThreads, 1);
});
