// A change of worker count under call load (npm run bench:resize): our proxy as a child process
// with the admin API on, a sipp call step at --rate for --duration, and during it
// PUT /api/workers to --to workers, then (once its pinned calls have left, retried while the API
// says ADMIN_ERR_RESIZE_BUSY) back to --workers. Reports each change's report (held messages, hold
// time, whole time, dialogs moved, calls pinned), how long its pins took to settle, and the calls
// that failed meanwhile (expected 0). Bounded: the step's duration, 5 s polls at most 60 s each.
// Usage: --help.
import { killAll, sleep, stopChildrenOnSignal } from './lib/child.js';
import { runStep } from './lib/load-step.js';
import { freeUdpPort } from './lib/net.js';
import { startOurProxyWithAdmin } from './lib/proxy.js';
import { fmt, mdTable, writeResults } from './lib/results.js';
import { callSpec } from './lib/specs.js';
import { parseBenchArgs } from './lib/args.js';

const USAGE = `node dist/bench/resize.js [--workers 2] [--to 4] [--rate 100] [--duration 60] [--hold 5000]`;

const { values: o } = parseBenchArgs(USAGE, {
  options: {
    workers: { type: 'string', default: '2' },
    to: { type: 'string', default: '4' },
    rate: { type: 'string', default: '100' },
    duration: { type: 'string', default: '60' },
    hold: { type: 'string', default: '5000' },
  },
});
const workers = Number(o.workers);
const to = Number(o.to);
const rate = Number(o.rate);
const durationS = Number(o.duration);
const command = `node dist/bench/resize.js ${process.argv.slice(2).join(' ')}`.trim();

interface Change { from: number; to: number; dialogsMoved: number; pinned: number; held: number; holdMs: number; ms: number; settleMs: number; busyRetries: number }

stopChildrenOnSignal();
const uasPort = await freeUdpPort();
const { proxy, adminUrl, headers: auth } = await startOurProxyWithAdmin(workers, uasPort);
try {
  const headers = { ...auth, 'content-type': 'application/json' };
  const base = `${adminUrl}/api/workers`;
  const api = async (method: string, body?: unknown): Promise<{ status: number; body: any }> => {
    const res = await fetch(base, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    return { status: res.status, body: await res.json() };
  };
  /** resize, retrying while the previous change settles; then wait until its own pins are gone */
  const change = async (count: number): Promise<Change> => {
    let busyRetries = 0;
    let r = await api('PUT', { count });
    for (const until = Date.now() + 60_000; r.status === 409 && Date.now() < until; busyRetries++) {
      await sleep(500);
      r = await api('PUT', { count });
    }
    if (r.status !== 200) throw new Error(`resize to ${count}: ${r.status} ${JSON.stringify(r.body)}`);
    const started = Date.now();
    for (const until = started + 60_000; Date.now() < until; await sleep(100)) {
      const w = (await api('GET')).body;
      if (w.pinned === 0 && w.shards.every((s: { retiring: boolean }) => !s.retiring)) break;
    }
    return { ...r.body, settleMs: Date.now() - started, busyRetries };
  };
  const calls = runStep(proxy, callSpec(rate, durationS, Number(o.hold), uasPort));
  await sleep(Math.min(10, durationS / 4) * 1000); // calls up on every shard first
  const changes: Change[] = [await change(to), await change(workers)];
  const step = await calls;
  for (const c of changes) {
    console.log(`${c.from} -> ${c.to}: ${c.dialogsMoved} dialogs moved, ${c.pinned} pinned, ${c.held} messages held for ${c.holdMs} ms, ${c.ms} ms in all, pins settled after ${c.settleMs} ms`);
  }
  console.log(`calls: ${step.attempted} attempted, ${step.successful} successful, ${step.failed} failed, retransmissions ${step.retransUac + step.retransUas}, setup p99 ${fmt(step.p99Ms)} ms`);
  const md = `${mdTable(['change', 'dialogs moved', 'pinned', 'held msgs', 'hold ms', 'whole ms', 'pins settled ms'],
    changes.map((c) => [`${c.from} -> ${c.to}`, c.dialogsMoved, c.pinned, c.held, c.holdMs, c.ms, c.settleMs]))}\n\n`
    + `Calls at ${rate}/s of ${o.hold} ms during the changes: ${step.attempted} attempted, **${step.failed} failed**, `
    + `${step.retransUac + step.retransUas} retransmissions, call setup p99 ${fmt(step.p99Ms)} ms.`;
  console.log(writeResults('resize', command, { workers, to, rate, durationS, changes, calls: step }, md).slice(2).join('\n'));
  if (step.failed > 0) process.exitCode = 1;
} finally {
  await proxy.stop();
  await killAll();
}
