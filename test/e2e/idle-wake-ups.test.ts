// An idle proxy holding transaction timers stays asleep. After answering a request, a shard holds
// the final response for Timer J (32 s over UDP); the timer wheel must not wake its thread on every
// 10 ms tick meanwhile (it did: 100 wake-ups a second for 32 s after any request, and for ever on
// the shard of a registered line). Counted as the kernel does: the thread's voluntary context
// switches in /proc (Linux only).
import t from 'tap';
import { readFileSync } from 'node:fs';
import { threadCpu } from '../../bench/lib/proc.js';
import { SHARD_THREAD_PREFIX } from '../../lib/shard/thread-name.js';
import { startChildProxy, UdpPeer, writeChildConfig } from '../helpers/child-proxy.js';
import { testConfig } from '../helpers/proxy-harness.js';

t.setTimeout(60_000);

/** The thread of `pid` that `pick` chooses (bench's /proc reader lists them), and its voluntary context switches so far. */
function switches(pid: number, pick: (t: { tid: number; comm: string }) => boolean): { tid: number; count: number } | undefined {
  const t = threadCpu(pid)?.threads.find(pick);
  if (t === undefined) return undefined;
  const m = /^voluntary_ctxt_switches:\s+(\d+)$/m.exec(readFileSync(`/proc/${pid}/task/${t.tid}/status`, 'utf8'));
  return m === null ? undefined : { tid: t.tid, count: Number(m[1]) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const cases = [
  {
    name: 'a worker (placement: hash) holding Timer J',
    shard: { ...testConfig().shard, placement: 'hash' as const },
    pick: (t: { tid: number; comm: string }, _pid: number) => t.comm.startsWith(SHARD_THREAD_PREFIX),
    // the lazy wake-up every 250 ms: ~12 in 3 s; a 10 ms tick: ~300
    most: 40,
  },
  {
    name: 'the main thread (placement: load, its own shard) holding Timer J',
    shard: testConfig().shard,
    pick: (t: { tid: number; comm: string }, pid: number) => t.tid === pid,
    // besides the wheel, the overload sample every 100 ms (~30) and the admin's stats
    most: 100,
  },
];

for (const c of cases) {
  t.test(`${c.name} wakes a few times a second, not every 10 ms tick`, { skip: process.platform !== 'linux' ? 'reads /proc' : false }, async (t) => {
    const proxy = await startChildProxy(writeChildConfig({ workers: 1, shard: c.shard }));
    const peer = await UdpPeer.open();
    t.teardown(() => { peer.close(); proxy.child.kill('SIGKILL'); });
    const pid = proxy.child.pid!;
    const pick = (t: { tid: number; comm: string }): boolean => c.pick(t, pid);

    // an OPTIONS for a local user with no binding: the shard answers it (not statelessly, as it
    // would a challenge) and keeps that answer for Timer J
    peer.send([
      `OPTIONS sip:nobody@127.0.0.1:${proxy.udpPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-idle1;rport`,
      'Max-Forwards: 70', 'From: <sip:alice@127.0.0.1>;tag=a1', 'To: <sip:nobody@127.0.0.1>', 'Call-ID: idle-wake-ups-1',
      'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
    ].join('\r\n'), proxy.udpPort);
    await peer.until((r) => r.some((m) => /^SIP\/2\.0 [3-6]\d\d /.test(m) && m.includes('idle-wake-ups-1')));

    await sleep(1000); // past the answer's own turn and the start's last settling
    const before = switches(pid, pick);
    t.ok(before !== undefined, 'the thread is found');
    await sleep(3000);
    const after = switches(pid, pick);
    t.equal(after?.tid, before?.tid, 'the same thread');
    const woke = after!.count - before!.count;
    t.ok(woke <= c.most, `it switched out ${woke} times in 3 s (at most ${c.most})`);
  });
}
