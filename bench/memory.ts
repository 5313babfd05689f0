// Memory per dialog (npm run bench:memory): hold --dialogs confirmed calls at once (sipp uac at
// --rate with a hold long enough for all of them to be up together), and report the target's
// memory growth divided by the calls held: once right after the last call is up (transactions of
// the ramp still alive) and again --settle seconds later (transactions gone, dialogs only).
// Then the calls hang up and the run ends. Ours: VmRSS; Kamailio: sum of PSS of its processes.
// Usage: --help.
import { readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { killAll, sleep, stopChildrenOnSignal } from './lib/child.js';
import { availableTargets, startKamailio } from './lib/kamailio.js';
import { freeUdpPort } from './lib/net.js';
import { OUR_PROXY_ARGS, OUR_PROXY_USAGE, ourProxyOptions, startOurProxy } from './lib/proxy.js';
import { fmt, mdTable, writeResults } from './lib/results.js';
import { readSippStats, startSipp } from './lib/sipp.js';
import { callSpec } from './lib/specs.js';
import type { Target } from './lib/target.js';
import { orUsage, parseBenchArgs } from './lib/args.js';
import { parseRepeat } from './lib/sweep.js';

const USAGE = `node dist/bench/memory.js [--dialogs 50000] [--rate 1000] [--settle 40] [--targets kamailio,ours] [--repeat 1]
${OUR_PROXY_USAGE}`;

const { values: o } = parseBenchArgs(USAGE, {
  options: {
    dialogs: { type: 'string', default: '50000' },
    rate: { type: 'string', default: '1000' },
    settle: { type: 'string', default: '40' },
    ...OUR_PROXY_ARGS,
    targets: { type: 'string', default: 'kamailio,ours' },
    repeat: { type: 'string', default: '1' },
  },
});
const ourOptions = orUsage(USAGE, () => ourProxyOptions(o));
const n = Number(o.dialogs);
const rate = Number(o.rate);
const settleS = Number(o.settle);
// RSS per dialog moves by ~0.5 kB between runs of one build (the baseline at rest depends on when
// V8's memory reducer ran): repeated runs, targets alternating, give a median and a range
const repeat = parseRepeat(o.repeat);
const rampS = n / rate;
const command = `node dist/bench/memory.js ${process.argv.slice(2).join(' ')}`.trim();

interface MemoryResult {
  target: string; dialogs: number; heldAtRampEnd: number; heldAfterSettle: number; successful: number; failed: number;
  baseMb: number; rampEndMb: number; settledMb: number; kbPerDialogRampEnd: number; kbPerDialogSettled: number;
}

/** 'median (min-max of N runs)': the median of an even count is the lower middle one, as bench:compare's. */
function spread(values: readonly number[]): string {
  const sorted = [...values].sort((a, b) => a - b);
  return `${fmt(sorted[Math.floor((sorted.length - 1) / 2)]!, 2)} (${fmt(sorted[0]!, 2)}-${fmt(sorted[sorted.length - 1]!, 2)} of ${sorted.length} runs)`;
}

/** Calls sipp currently holds (CurrentCall of its latest stat dump). */
function currentCalls(dir: string): number {
  const lines = readFileSync(join(dir, 'stat.csv'), 'latin1').trim().split('\n');
  const head = lines[0]!.split(';');
  return Number(lines[lines.length - 1]!.split(';')[head.indexOf('CurrentCall')] ?? 0);
}

/**
 * The target's memory at rest before the load. Right after start our proxy holds the garbage of its
 * shards' warm-up (shard.warmUpCalls) until V8's memory reducer runs, 15-20 s later here (RSS
 * 178 -> 125 MB): a baseline taken before that would hide ~1 kB per dialog. So: the lowest of 1 s
 * samples, ending 5 s after a drop of a tenth from the highest, or after 30 s.
 */
async function idleBaseline(target: Target): Promise<number> {
  let low = target.currentMemoryKb();
  let high = low;
  let quietSince = -1;
  for (let s = 0; s < 30; s++) {
    await sleep(1000);
    const now = target.currentMemoryKb();
    low = Math.min(low, now);
    if (quietSince === -1) high = Math.max(high, now);
    if (quietSince === -1 && now <= high * 0.9) quietSince = s;
    if (quietSince !== -1 && s - quietSince >= 5) break;
  }
  return low;
}

async function measure(target: Target, uasPort: number): Promise<MemoryResult> {
  const holdMs = Math.ceil((rampS + settleS + 15) * 1000);
  const timeoutS = Math.ceil(rampS * 2.5 + holdMs / 1000 + 60);
  const base = await idleBaseline(target);
  const uas = startSipp('uas', ['-sn', 'uas', '-i', '127.0.0.1', '-p', String(uasPort)], timeoutS + 5);
  await sleep(300);
  const uac = startSipp('uac', [...callSpec(rate, rampS, holdMs, uasPort).uacArgs, '-i', '127.0.0.1', '-p', String(await freeUdpPort()),
    '-r', String(rate), '-m', String(n), '-l', String(n + 1000), '-recv_timeout', '10000',
    `127.0.0.1:${target.port}`], timeoutS, { failOnTimeout: true });
  try {
    await sleep(rampS * 1000 + 3000);
    const rampEnd = target.currentMemoryKb();
    const heldAtRampEnd = currentCalls(uac.dir);
    process.stdout.write(`${target.name}: ${heldAtRampEnd} calls up, memory ${fmt(base / 1024)} -> ${fmt(rampEnd / 1024)} MB\n`);
    await sleep(settleS * 1000);
    const settled = target.currentMemoryKb();
    const heldAfterSettle = currentCalls(uac.dir);
    process.stdout.write(`${target.name}: ${heldAfterSettle} calls up after ${settleS} s more, memory ${fmt(settled / 1024)} MB; waiting for hang-up\n`);
    await uac.exited;
    const s = readSippStats(uac.dir);
    return {
      target: target.name, dialogs: n, heldAtRampEnd, heldAfterSettle, successful: s.successful, failed: s.failed,
      baseMb: base / 1024, rampEndMb: rampEnd / 1024, settledMb: settled / 1024,
      kbPerDialogRampEnd: (rampEnd - base) / heldAtRampEnd, kbPerDialogSettled: (settled - base) / heldAfterSettle,
    };
  } finally {
    await uac.stop();
    await uas.stop();
    for (const d of [uac.dir, uas.dir]) rmSync(d, { recursive: true, force: true });
  }
}

const wanted = availableTargets(o.targets);
stopChildrenOnSignal();
const results: MemoryResult[] = [];
try {
  for (let round = 0; round < repeat; round++) {
    for (const w of wanted) {
      const uasPort = await freeUdpPort();
      const t = w === 'kamailio'
        ? await startKamailio({ uasPort, maxMs: 30 * 60 * 1000 })
        : await startOurProxy({ ...ourOptions, uasPort, maxMs: 30 * 60 * 1000 });
      try {
        results.push(await measure(t, uasPort));
      } finally {
        await t.stop();
      }
    }
  }
  const rows = results.map((r) => [r.target, r.heldAtRampEnd, fmt(r.baseMb), fmt(r.rampEndMb), fmt(r.kbPerDialogRampEnd, 2),
    r.heldAfterSettle, fmt(r.settledMb), fmt(r.kbPerDialogSettled, 2), `${r.successful}/${r.failed}`]);
  const summary = repeat < 2 ? '' : `${[...new Set(results.map((r) => r.target))].map((target) => {
    const mine = results.filter((r) => r.target === target);
    return `${target}: kB/dialog at ramp end ${spread(mine.map((r) => r.kbPerDialogRampEnd))}, ${settleS} s later ${spread(mine.map((r) => r.kbPerDialogSettled))}`;
  }).join('\n')}\n\n`;
  const md = `${mdTable(['target', 'calls up at ramp end', 'memory before MB', 'at ramp end MB', 'kB/dialog at ramp end',
    `calls up ${settleS} s later`, 'memory then MB', 'kB/dialog then', 'calls ok/failed'], rows)}\n\n${summary}` +
    `${n} calls at ${rate}/s held together; memory: ours VmRSS of the process, Kamailio sum of PSS of its processes. ` +
    'At ramp end the INVITE transactions of the last seconds are still alive (ours: RFC 6026 Timer L, 64*T1 = 32 s; ' +
    `Kamailio: tm wait timer); ${settleS} s later only the dialogs remain, but neither V8's heap nor Kamailio's ` +
    'shared memory returns freed pages at once, so the second figure is rarely lower.';
  console.log(md);
  console.log(writeResults('memory', command, { rate, settleS, repeat, results }, md).slice(2).join('\n'));
} finally {
  await killAll();
}
