// What a registration's datagrams cost a process before any SIP work (npm run bench:floor): echo
// servers that answer each REGISTER with its own headers under 'SIP/2.0 200 OK' (bench/floor/),
// one in C and two in Node.js (node:dgram, and our proxy's own UDP path), loaded by sipp exactly
// as bench:register loads a registrar (2 datagrams in, 2 out, at the same rates), side by side
// with our proxy and Kamailio doing the real registrations, all in one run, alternating per rate.
// A registrar's CPU less its language's floor is what its SIP work costs; the floors' ratio is
// what the runtime alone costs over C at that rate on this machine.
// Usage: --help.
import { rmSync } from 'node:fs';
import { dirname } from 'node:path';
import { killAll, stopChildrenOnSignal } from './lib/child.js';
import { buildCEcho, ECHO_KINDS, startEcho, type EchoKind } from './lib/echo-target.js';
import { availableTargets, startKamailio } from './lib/kamailio.js';
import { freeUdpPort } from './lib/net.js';
import { OUR_PROXY_ARGS, OUR_PROXY_USAGE, ourProxyVariants, startOurProxy } from './lib/proxy.js';
import { fmt, mdTable, writeResults, type Cell } from './lib/results.js';
import { echoSpec, registerSpec, writeUsersCsv } from './lib/specs.js';
import { median } from './lib/stats.js';
import { parseRates, parseRepeat, STEP_HEADERS, stepRow, STEP_ARGS, sweep } from './lib/sweep.js';
import { benchUsers, type Target } from './lib/target.js';
import { orUsage, parseBenchArgs } from './lib/args.js';

const ALL = [...ECHO_KINDS, 'kamailio', 'ours'] as const;
const USAGE = `node dist/bench/floor.js [--duration 10] [--repeat 1] [--rates 1000,2000,4000,6000] [--users 1000]
  [--targets ${ALL.join(',')}]  (c: bench/floor/echo.c, needs cc; node-ours: our UDP path; node-dgram: node:dgram;
                                 kamailio and ours: real registrations, as bench:register runs them)
${OUR_PROXY_USAGE}`;

const { values: o } = parseBenchArgs(USAGE, {
  options: {
    ...OUR_PROXY_ARGS,
    ...STEP_ARGS,
    rates: { type: 'string', default: '1000,2000,4000,6000' },
    users: { type: 'string', default: '1000' },
    targets: { type: 'string', default: ALL.join(',') },
  },
});
const ourVariants = orUsage(USAGE, () => ourProxyVariants(o));
const wanted = availableTargets(o.targets);
const unknown = wanted.filter((w) => !(ALL as readonly string[]).includes(w));
if (unknown.length > 0) {
  console.error(`--targets: unknown ${unknown.join(', ')}; allowed: ${ALL.join(', ')}\n${USAGE}`);
  process.exit(2);
}
const durationS = Number(o.duration);
const repeat = parseRepeat(o.repeat);
const rates = parseRates(o.rates);
const users = benchUsers(Number(o.users));
const command = `node dist/bench/floor.js ${process.argv.slice(2).join(' ')}`.trim();

stopChildrenOnSignal();
const usersCsv = writeUsersCsv(users);
const uasPort = await freeUdpPort(); // unused by REGISTER, but both configs name a route target
const uacPort = await freeUdpPort(); // one Contact per user for the whole run (load-step.ts)
const cEcho = wanted.includes('c') ? buildCEcho() : undefined;
const maxMs = 60 * 60 * 1000;
const targets: Target[] = [];
/** the echo servers among them: sipp's echo.xml, the others (registrars) register-auth.xml */
const echoes = new Set<Target>();
try {
  for (const w of wanted) {
    if (w === 'c' && cEcho === undefined) continue;
    if ((ECHO_KINDS as readonly string[]).includes(w)) {
      const echo = await startEcho(w as EchoKind, maxMs, cEcho?.binary);
      echoes.add(echo);
      targets.push(echo);
    } else if (w === 'kamailio') targets.push(await startKamailio({ uasPort, users, maxMs }));
    else for (const v of ourVariants) targets.push(await startOurProxy({ ...v, uasPort, users, algorithms: ['MD5'], maxMs }));
  }
  // each target stops at its first unsustainable rate, as in the other sweeps
  const res = await sweep(targets, rates, (rate, t) => (echoes.has(t) ? echoSpec(rate, durationS, uacPort) : registerSpec(rate, durationS, usersCsv, uacPort)),
    { repeat, pauseMs: 500 });
  const steps = res.flatMap((r) => r.steps);
  const names = targets.map((t) => t.name);
  const summary = rates.map((rate) => {
    const cpu: Record<string, number> = {};
    for (const n of names) cpu[n] = median(steps.filter((s) => s.rate === rate && s.target === n && s.verdict === 'ok').map((s) => s.cpuPer1000));
    return { rate, cpuPer1000: cpu };
  });
  const derived = derivedColumns(names);
  const headers = ['rate/s', ...names.map((n) => `${n} s/1000`), ...derived.map((d) => d.header)];
  const rows: Cell[][] = summary.map((s) => [s.rate, ...names.map((n) => fmt(s.cpuPer1000[n]!, 3)), ...derived.map((d) => d.cell(s.cpuPer1000))]);
  const table = mdTable(headers, rows);
  console.log(`\nCPU s per 1,000 exchanges (echo servers) or registrations (registrars), ${repeat > 1 ? 'median of sustained runs' : 'sustained runs'}:\n${table}`);
  const md = `${table}\n\nOne exchange = two REGISTERs each answered, as one registration (REGISTER, 401, REGISTER with ` +
    `credentials, 200) is for the registrars; ${durationS} s per step, ${users.length} users; us = microseconds of CPU per ` +
    `exchange; '-': not run or not sustained.\n\n${mdTable(STEP_HEADERS, steps.map(stepRow))}`;
  console.log(writeResults('floor', command, { durationS, repeat, users: users.length, steps, summary }, md).slice(2).join('\n'));
} finally {
  for (const t of targets) await t.stop();
  await killAll();
  rmSync(dirname(usersCsv), { recursive: true, force: true });
  if (cEcho !== undefined) rmSync(cEcho.dir, { recursive: true, force: true });
}

/** Ratios to the C floor and each registrar's CPU above its own language's floor, where both ran. */
function derivedColumns(names: readonly string[]): { header: string; cell: (cpu: Record<string, number>) => string }[] {
  const out: { header: string; cell: (cpu: Record<string, number>) => string }[] = [];
  const c = 'echo c';
  const nodeFloor = 'echo node-ours';
  for (const n of names.filter((x) => x.startsWith('echo node'))) {
    if (names.includes(c)) out.push({ header: `${n} / c`, cell: (cpu) => fmt(cpu[n]! / cpu[c]!, 2) });
  }
  for (const n of names.filter((x) => !x.startsWith('echo '))) {
    const floor = n.startsWith('kamailio') ? c : nodeFloor;
    if (names.includes(floor)) out.push({ header: `${n} above ${floor}, us`, cell: (cpu) => fmt((cpu[n]! - cpu[floor]!) * 1000, 0) });
  }
  return out;
}
