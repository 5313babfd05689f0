// Call load (npm run bench:calls): our proxy as a child process, sipp uas behind the '9' static
// route, sipp uac in front. One step at --rate for --duration, or --sweep over --rates up to the
// first unsustainable step. Writes bench/results/{calls-<time>,latest-calls}.{json,md}.
// Usage: --help.
import { killAll, stopChildrenOnSignal } from './lib/child.js';
import { runStep, SUSTAINABLE, unsustainable } from './lib/load-step.js';
import { freeUdpPort } from './lib/net.js';
import { OUR_PROXY_ARGS, OUR_PROXY_USAGE, ourProxyOptions, startOurProxy } from './lib/proxy.js';
import { mdTable, writeResults } from './lib/results.js';
import { callSpec } from './lib/specs.js';
import { bestText, parseRates, parseRefine, STEP_HEADERS, stepLine, stepRow, sweep } from './lib/sweep.js';
import { orUsage, parseBenchArgs } from './lib/args.js';
import { crowdHostUdp } from './lib/udp-crowd.js';

export const DEFAULT_RATES = '200,400,800,1200,1600,2000,2500,3000,3500';

const USAGE = `node dist/bench/calls.js [--rate 200] [--duration 10] [--hold 1000] [--sweep] [--rates 200,400,...] [--refine 0]
  [--host-udp-sockets N]  (N other UDP sockets bound on the host for the run, as a media relay beside us holds)
${OUR_PROXY_USAGE}`;

const { values: o } = parseBenchArgs(USAGE, {
  options: {
    ...OUR_PROXY_ARGS,
    rate: { type: 'string', default: '200' },
    duration: { type: 'string', default: '10' },
    hold: { type: 'string', default: '1000' },
    sweep: { type: 'boolean', default: false },
    rates: { type: 'string', default: DEFAULT_RATES },
    refine: { type: 'string', default: '0' },
    'host-udp-sockets': { type: 'string', default: '0' },
  },
});
const ours = orUsage(USAGE, () => ourProxyOptions(o)); // a bad --set: one line, exit 2
const workers = ours.workers;
const durationS = Number(o.duration);
const holdMs = Number(o.hold);
const refine = parseRefine(o.refine);
const hostUdpSockets = Number(o['host-udp-sockets']);
orUsage(USAGE, () => {
  if (refine > 0 && !o.sweep) throw new Error("--refine bisects after a sweep's first failed rate: give --sweep too");
  if (!Number.isInteger(hostUdpSockets) || hostUdpSockets < 0 || hostUdpSockets > 100_000) throw new Error(`--host-udp-sockets ${o['host-udp-sockets']}: an integer 0..100000`);
});
const command = `node dist/bench/calls.js ${process.argv.slice(2).join(' ')}`.trim();

stopChildrenOnSignal();
if (hostUdpSockets > 0) await crowdHostUdp(hostUdpSockets, 60 * 60 * 1000);
const uasPort = await freeUdpPort();
// a proxy that fails to start must not leave the crowd's holder running for its hour
const proxy = await startOurProxy({ ...ours, uasPort, maxMs: 60 * 60 * 1000 }).catch(async (err: unknown) => { await killAll(); throw err; });
try {
  if (o.sweep) {
    const [res] = await sweep([proxy], parseRates(o.rates), (rate) => callSpec(rate, durationS, holdMs, uasPort), { refine });
    const md = `${mdTable(STEP_HEADERS, res!.steps.map(stepRow))}\n\nHighest sustainable rate: **${bestText(res!, 'calls/s')}** ` +
      `(< ${SUSTAINABLE.maxFailedPct}% failed, retransmissions < ${SUSTAINABLE.maxRetransPct}% of sipp's messages, ` +
      `sipp reached >= ${SUSTAINABLE.minAchievedShare * 100}% of the rate; ${durationS} s per step, ${holdMs} ms hold).`;
    console.log(`\nhighest sustainable rate: ${bestText(res!, 'calls/s')}`);
    console.log(writeResults('calls', command, { workers, durationS, holdMs, hostUdpSockets, sweep: res }, md).slice(2).join('\n'));
  } else {
    const r = await runStep(proxy, callSpec(Number(o.rate), durationS, holdMs, uasPort));
    const verdict = unsustainable(r) || 'ok';
    console.log(stepLine(r), verdict);
    const md = mdTable(STEP_HEADERS, [stepRow({ ...r, verdict })]);
    console.log(writeResults('calls', command, { workers, durationS, holdMs, hostUdpSockets, step: { ...r, verdict } }, md).slice(2).join('\n'));
  }
} finally {
  await proxy.stop();
  await killAll();
}
