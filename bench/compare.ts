// Side by side with Kamailio (npm run bench:compare): the same call-load sweep against Kamailio
// (bench/kamailio/kamailio.cfg) and our proxy in one run, alternating target per rate step.
// Prints both sweeps, each one's highest sustainable rate, CPU per 1000 calls at the highest rate
// both sustained, and the ratios ours/kamailio. Skips when Kamailio is not installed.
// Usage: --help.
import { killAll, stopChildrenOnSignal } from './lib/child.js';
import { kamailioInstalled, KAMAILIO, startKamailio } from './lib/kamailio.js';
import { freeUdpPort } from './lib/net.js';
import { OUR_PROXY_ARGS, OUR_PROXY_USAGE, ourProxyVariants, startOurProxy } from './lib/proxy.js';
import { mdTable, writeResults } from './lib/results.js';
import { callSpec } from './lib/specs.js';
import { parseRates, parseRefine, parseRepeat, STEP_HEADERS, stepRow, sweep, type SweepOutcome, STEP_ARGS } from './lib/sweep.js';
import { summarizeEach } from './lib/compare-summary.js';
import type { Target } from './lib/target.js';
import { orUsage, parseBenchArgs } from './lib/args.js';

const USAGE = `node dist/bench/compare.js [--duration 10] [--repeat 1] [--hold 1000] [--rates 200,400,...] [--refine 0]
${OUR_PROXY_USAGE}`;

const { values: o } = parseBenchArgs(USAGE, {
  options: {
    ...OUR_PROXY_ARGS,
    ...STEP_ARGS,
    refine: { type: 'string', default: '0' },
    hold: { type: 'string', default: '1000' },
    rates: { type: 'string', default: '200,400,800,1200,1600,2000,2500,3000,3500' },
  },
});
// read before any target starts: a bad --set is one line and exit 2
const ourVariants = orUsage(USAGE, () => ourProxyVariants(o));
if (!kamailioInstalled()) {
  console.log(`bench:compare skipped: Kamailio is not installed (${KAMAILIO} missing; apt-get install kamailio)`);
  process.exit(0);
}
const durationS = Number(o.duration);
const repeat = parseRepeat(o.repeat);
const refine = parseRefine(o.refine);
const holdMs = Number(o.hold);
const command = `node dist/bench/compare.js ${process.argv.slice(2).join(' ')}`.trim();

stopChildrenOnSignal();
const uasPort = await freeUdpPort();
const targets: Target[] = [];
try {
  targets.push(await startKamailio({ uasPort, maxMs: 60 * 60 * 1000 }));
  for (const v of ourVariants) targets.push(await startOurProxy({ ...v, uasPort, maxMs: 60 * 60 * 1000 }));
  const res = await sweep(targets, parseRates(o.rates), (rate) => callSpec(rate, durationS, holdMs, uasPort), { repeat, refine });
  const [kam, ...ours] = res as [SweepOutcome, ...SweepOutcome[]];
  const summaries = summarizeEach(ours, kam, 'calls/s', 'CPU s/1000 calls');
  console.log(`\n${summaries.map((s) => s.lines.join('\n')).join('\n\n')}`);
  const md = `${mdTable(STEP_HEADERS, res.flatMap((r) => r.steps).map(stepRow))}\n\n` +
    summaries.map((s) => `${s.markdown}\n\n`).join('') +
    `${durationS} s per step, ${holdMs} ms call hold, steps alternate Kamailio / ours at each rate.`;
  const variants = ours.length > 1 ? { variants: ours.map((r, i) => ({ ours: r, summary: summaries[i]!.data })) } : {};
  console.log(writeResults('compare', command, { durationS, holdMs, kamailio: kam, ours: ours[0], summary: summaries[0]!.data, ...variants }, md).slice(2).join('\n'));
} finally {
  for (const t of targets) await t.stop();
  await killAll();
}
