// Admin API under call load (npm run bench:admin): our proxy as a child process with the admin API
// on, a sipp call step at --rate for --duration, and during it autocannon against /metrics, then
// /api/stats (each for half the step). Reports requests/s and p99 of each endpoint and the calls
// that failed meanwhile (the admin API must not cost calls: expected 0).
// Usage: --help.
import { killAll, sleep, stopChildrenOnSignal } from './lib/child.js';
import { httpLoad, type HttpLoadResult } from './lib/http-load.js';
import { runStep } from './lib/load-step.js';
import { freeUdpPort } from './lib/net.js';
import { startOurProxyWithAdmin } from './lib/proxy.js';
import { fmt, mdTable, writeResults } from './lib/results.js';
import { callSpec } from './lib/specs.js';
import { parseBenchArgs } from './lib/args.js';

const USAGE = `node dist/bench/admin.js [--workers 2] [--rate 200] [--duration 20] [--connections 10]`;

const { values: o } = parseBenchArgs(USAGE, {
  options: {
    workers: { type: 'string', default: '2' },
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '20' },
    hold: { type: 'string', default: '1000' },
    connections: { type: 'string', default: '10' },
  },
});
const workers = Number(o.workers);
const rate = Number(o.rate);
const durationS = Number(o.duration);
const connections = Number(o.connections);
const command = `node dist/bench/admin.js ${process.argv.slice(2).join(' ')}`.trim();

stopChildrenOnSignal();
const uasPort = await freeUdpPort();
const { proxy, adminUrl: base, headers } = await startOurProxyWithAdmin(workers, uasPort);
try {
  const calls = runStep(proxy, callSpec(rate, durationS, Number(o.hold), uasPort));
  await sleep(1000); // let the call load settle first
  const half = Math.max(1, Math.floor((durationS - 2) / 2));
  const http: HttpLoadResult[] = [];
  http.push(await httpLoad(`${base}/metrics`, half, connections, headers));
  http.push(await httpLoad(`${base}/api/stats`, half, connections, headers));
  const step = await calls;
  for (const h of http) {
    console.log(`${h.url}: ${fmt(h.requestsPerSecond, 0)} req/s, p50 ${h.latencyP50Ms} ms, p99 ${h.latencyP99Ms} ms, non-2xx ${h.non2xx}, errors ${h.errors}`);
  }
  console.log(`calls during it: ${step.attempted} attempted, ${step.successful} successful, ${step.failed} failed, retransmissions ${step.retransUac + step.retransUas}, setup p99 ${fmt(step.p99Ms)} ms`);
  const md = `${mdTable(['endpoint', 'req/s', 'p50 ms', 'p99 ms', 'non-2xx', 'errors'],
    http.map((h) => [h.url.replace(base, ''), fmt(h.requestsPerSecond, 0), h.latencyP50Ms, h.latencyP99Ms, h.non2xx, h.errors]))}\n\n`
    + `Calls at ${rate}/s during the HTTP load (${workers} workers, ${connections} HTTP connections): `
    + `${step.attempted} attempted, **${step.failed} failed**, ${step.retransUac + step.retransUas} retransmissions, call setup p99 ${fmt(step.p99Ms)} ms.`;
  console.log(writeResults('admin', command, { workers, rate, durationS, connections, http, calls: step }, md).slice(2).join('\n'));
  if (step.failed > 0 || http.some((h) => h.non2xx > 0 || h.errors > 0)) process.exitCode = 1;
} finally {
  await proxy.stop();
  await killAll();
}
