// The proxy's overload control reads its own bound UDP listener's kernel receive queue (Linux): with
// the main thread blocked (the bottleneck case), datagrams wait in the socket buffer while the shards
// see nothing, and shedding starts on that signal alone.
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { startTestProxy } from '../helpers/proxy-harness.js';

t.setTimeout(30_000);
const noProc = process.platform !== 'linux' || !existsSync('/proc/net/udp') ? 'no /proc/net/udp (not Linux)' : false;

t.test('datagrams queued in the kernel for our UDP listener start shedding', { skip: noProc }, async (t) => {
  const proxy = await startTestProxy({
    workers: 1,
    // only the receive queue can trigger: utilization off, the backlog marks out of reach
    overload: { sampleMs: 10, sustainSamples: 1, eluHigh: 1, backlogHigh: 1_000_000_000, backlogLow: 999_999_999, rxQueueHighBytes: 5000, rxQueueLowBytes: 0 },
  });
  t.teardown(() => proxy.close());
  t.equal(proxy.overload.stats.episodes, 0, 'idle: no shedding');
  // a child sends while this thread is blocked, so the proxy cannot read; the overdue sampler runs
  // at the end of the loop iteration, usually before the next poll reads the socket: a few rounds
  for (let round = 0; round < 5 && proxy.overload.stats.episodes === 0; round++) {
    execFileSync(process.execPath, ['-e', `
      const s = require('node:dgram').createSocket('udp4'); let n = 0;
      const next = () => n++ < 40 ? s.send(Buffer.alloc(500, 65), ${proxy.udpPort}, '127.0.0.1', next) : s.close();
      next();`]);
    await new Promise((r) => setTimeout(r, 50));
  }
  t.ok(proxy.overload.stats.episodes >= 1, 'shedding started on the receive queue of the bound port');
  const deadline = Date.now() + 3000;
  while (proxy.overload.shedding && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  t.notOk(proxy.overload.shedding, 'the queue drained: shedding stops');
  t.equal(proxy.overload.stats.rxQueueBytes, 0, 'and the last sample saw it empty');
});
