// The benches' per-thread CPU split (bench/lib/proc.ts threadCpu) on the real proxy process: shard
// threads name themselves shard-<id> (lib/shard/thread-name.ts), the main thread is the process's
// own task, and the groups add up to what the process counts for all its threads.
import t from 'tap';
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { threadCpu, type ThreadCpu } from '../../bench/lib/proc.js';
import { startChildProxy, UdpPeer, writeChildConfig } from '../helpers/child-proxy.js';

const options = (i: number, port: number, proxyPort: number): string => [
  `OPTIONS sip:127.0.0.1:${proxyPort} SIP/2.0`,
  `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-cpu${i};rport`,
  'Max-Forwards: 70',
  `From: <sip:probe@127.0.0.1>;tag=c${i}`,
  `To: <sip:127.0.0.1:${proxyPort}>`,
  `Call-ID: cpu-split-${i}@test`,
  'CSeq: 1 OPTIONS',
  'Content-Length: 0',
  '', '',
].join('\r\n');

t.test('threadCpu splits the proxy CPU into main, shards and other, and the parts add up', { skip: process.platform !== 'linux' && 'reads /proc' }, async (t) => {
  // one source sending fast: exempt from the per-source flood limit, as the benches are; placement
  // by hash, so the work reaches both worker threads (with load the main thread's shard takes it)
  const configPath = writeChildConfig({ workers: 2, shard: { placement: 'hash' }, security: { exempt: ['127.0.0.1'] } } as Parameters<typeof writeChildConfig>[0]);
  const proxy = await startChildProxy(configPath);
  const pid = proxy.child.pid!;
  const peer = await UdpPeer.open();
  t.teardown(async () => {
    peer.close();
    proxy.child.kill('SIGKILL');
    await proxy.exited;
    rmSync(dirname(configPath), { recursive: true, force: true });
  });

  // OPTIONS with distinct Call-IDs for both shards, 100 at a time (within the default socket
  // receive buffer), each answered
  let sent = 0;
  const work = async (n: number): Promise<void> => {
    for (const last = sent + n; sent < last;) {
      for (const end = sent + 100; sent < end; sent++) peer.send(options(sent, peer.port, proxy.udpPort), proxy.udpPort);
      await peer.until((r) => r.length >= sent, 10_000);
    }
  };
  await work(200); // shard threads booted (and named) before the first reading
  const liveSum = (x: ThreadCpu): number => x.threads.reduce((s, th) => s + th.cpuS, 0);
  const before = threadCpu(pid);
  if (before === undefined) throw new Error('proxy process gone');
  await work(3000);
  const total = sent;
  t.equal(peer.received.filter((m) => m.startsWith('SIP/2.0 200 ')).length, total, 'every OPTIONS answered');

  const split = threadCpu(pid);
  if (split === undefined) throw new Error('proxy process gone');
  const names = split.threads.map((x) => x.comm);
  t.same(names.filter((n) => n.startsWith('shard-')).sort(), ['shard-0', 'shard-1'], 'each shard thread is named after its shard');
  t.ok(split.threads.some((x) => x.tid === pid), 'the main thread is the task whose id is the pid');
  t.ok(split.main > before.main, `main thread worked (${before.main} -> ${split.main} s)`);
  t.ok(split.shards > before.shards, `shard threads worked (${before.shards} -> ${split.shards} s)`);
  t.ok(split.other >= 0, 'other is never negative');
  // over the work, the live threads read one by one add up to the process's own counter: nothing
  // missed or counted twice (threads that exited during startup are only in the process total, and
  // the kernel scales each counter on its own, so allow a few 10 ms ticks)
  const live = liveSum(split) - liveSum(before);
  const proc = split.total - before.total;
  t.ok(proc > 0.1, `the process worked (${proc.toFixed(2)} s)`);
  t.ok(Math.abs(live - proc) <= 0.05 + 0.05 * proc, `threads ${live.toFixed(2)} s vs process ${proc.toFixed(2)} s over the work`);
  t.ok(Math.abs(split.main + split.shards + split.other - split.total) <= 0.011, 'main + shards + other = total');
  t.equal(threadCpu(2 ** 22 + 12345), undefined, 'a process that does not exist has no split');
});
