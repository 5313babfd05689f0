// Registration load (npm run bench:register): REGISTER with MD5 digest auth (401 challenge, then
// credentials) for --users distinct users, sweeping the rate up to the first unsustainable step,
// against Kamailio (when installed) and our proxy in one run, alternating per rate.
// Usage: --help.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { killAll, stopChildrenOnSignal } from './lib/child.js';
import { summarizeEach } from './lib/compare-summary.js';
import { availableTargets, startKamailio } from './lib/kamailio.js';
import { freeUdpPort } from './lib/net.js';
import { OUR_PROXY_ARGS, OUR_PROXY_USAGE, ourProxyVariants, startOurProxy } from './lib/proxy.js';
import { mdTable, writeResults } from './lib/results.js';
import { registerSpec, writeUsersCsv } from './lib/specs.js';
import { runStep } from './lib/load-step.js';
import { bestText, parseRates, parseRefine, parseRepeat, STEP_HEADERS, stepLine, stepRow, sweep, STEP_ARGS } from './lib/sweep.js';
import { benchUsers, type Target } from './lib/target.js';
import { oneOf, orUsage, parseBenchArgs } from './lib/args.js';

const USAGE = `node dist/bench/register.js [--users 1000] [--contacts 1] [--duration 10] [--repeat 1] [--rates 500,1000,...] [--refine 0] [--targets ours,kamailio]
  [--kamailio-register stateless|stateful]  (Kamailio answers REGISTERs statelessly, sl; stateful: through a transaction, as ours)
${OUR_PROXY_USAGE}`;
const KAMAILIO_REGISTER = ['stateless', 'stateful'] as const;

const { values: o } = parseBenchArgs(USAGE, {
  options: {
    users: { type: 'string', default: '1000' },
    contacts: { type: 'string', default: '1' },
    ...OUR_PROXY_ARGS,
    ...STEP_ARGS,
    refine: { type: 'string', default: '0' },
    rates: { type: 'string', default: '500,1000,1500,2000,2500,3000,4000,5000,6000' },
    targets: { type: 'string', default: 'kamailio,ours' },
    'kamailio-register': { type: 'string', default: 'stateless' },
  },
});
// read before any target starts: a bad --set is one line and exit 2
const ourVariants = orUsage(USAGE, () => ourProxyVariants(o));
const statefulRegister = orUsage(USAGE, () => oneOf('--kamailio-register', o['kamailio-register'], KAMAILIO_REGISTER)) === 'stateful';
const users = benchUsers(Number(o.users));
const contacts = Number(o.contacts);
if (!Number.isInteger(contacts) || contacts < 1 || contacts > 16) {
  console.error(`--contacts must be an integer 1..16, got ${JSON.stringify(o.contacts)}\n${USAGE}`);
  process.exit(2);
}
const durationS = Number(o.duration);
const repeat = parseRepeat(o.repeat);
const refine = parseRefine(o.refine);
const command = `node dist/bench/register.js ${process.argv.slice(2).join(' ')}`.trim();
const wanted = availableTargets(o.targets);

/** registrations/s of the pre-registration of the extra contacts: well inside both targets' reach */
const PRE_RATE = 1000;

stopChildrenOnSignal();
const usersCsv = writeUsersCsv(users);
const uasPort = await freeUdpPort(); // unused by REGISTER, but both configs name a route target
// one Contact per user for the whole run, as a phone refreshing its registration (load-step.ts)
const uacPort = await freeUdpPort();
const targets: Target[] = [];
try {
  for (const w of wanted) {
    if (w === 'kamailio') targets.push(await startKamailio({ uasPort, users, statefulRegister, maxMs: 60 * 60 * 1000 }));
    else if (w === 'ours') for (const v of ourVariants) targets.push(await startOurProxy({ ...v, uasPort, users, algorithms: ['MD5'], maxMs: 60 * 60 * 1000 }));
  }
  // AORs of several contacts (a user with a desk phone, a softphone, a mobile...): before the
  // sweep every user registers once from each of contacts - 1 other ports; the sweep's steps then
  // refresh the first contact while the AOR holds all of them (every 200 lists them all)
  for (const t of targets) {
    for (let c = 1; c < contacts; c++) {
      const r = await runStep(t, registerSpec(PRE_RATE, users.length / PRE_RATE, usersCsv, await freeUdpPort()));
      process.stdout.write(`${stepLine(r)}  (pre-registration: contact ${c + 1} of each user)\n`);
      if (r.successful < users.length) throw new Error(`${t.name}: pre-registration of contact ${c + 1} left ${users.length - r.successful} users without it`);
    }
  }
  const res = await sweep(targets, parseRates(o.rates), (rate) => registerSpec(rate, durationS, usersCsv, uacPort), { repeat, refine });
  let md = mdTable(STEP_HEADERS, res.flatMap((r) => r.steps).map(stepRow));
  for (const r of res) console.log(`${r.target}: highest sustainable rate ${bestText(r, 'registrations/s')}`);
  const summaries: Array<Record<string, number>> = [];
  const ours = res.filter((r) => r.target.startsWith('sipshard'));
  const kam = res.find((r) => r.target.startsWith('kamailio'));
  if (kam !== undefined) {
    for (const s of summarizeEach(ours, kam, 'registrations/s', 'CPU s/1000 registrations')) {
      console.log(s.lines.join('\n'));
      md += `\n\n${s.markdown}`;
      summaries.push(s.data);
    }
  }
  md += `\n\n${users.length} users${contacts > 1 ? ` of ${contacts} contacts each (the steps refresh one)` : ''}, MD5 digest with qop=auth on both, ${durationS} s per step; one registration = ` +
    'REGISTER, 401, REGISTER with credentials, 200.';
  console.log(writeResults('register', command, { users: users.length, durationS, sweeps: res, summary: summaries[0], ...(summaries.length > 1 ? { summaries } : {}) }, md).slice(2).join('\n'));
} finally {
  for (const t of targets) await t.stop();
  await killAll();
  rmSync(dirname(usersCsv), { recursive: true, force: true });
}
