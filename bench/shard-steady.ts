// One shard's CPU per call in a steady state, in-thread: calls set up at a simulated 1,000/s (hand-
// moved clock), each held --hold ms and then ended with BYE, timers running, so transactions live
// their real 32 s and dialogs pile up to rate x hold. Unlike shard-flow.js (no timer ever fires,
// every transaction stays), the heap looks like a loaded shard's; GC pauses are counted.
// Usage: --help.
import { constants, PerformanceObserver } from 'node:perf_hooks';
import { ManualClock } from '../lib/txn/timers.js';
import { CallDriver } from './lib/shard-calls.js';
import { exitOnHelp, positionalNumber } from './lib/args.js';

const USAGE = 'node dist/bench/shard-steady.js [calls, default 60000] [hold ms, default 20000]   (add --cpu-prof to profile)';
exitOnHelp(USAGE);
const n = positionalNumber(USAGE, 0, 60000);
const hold = positionalNumber(USAGE, 1, 20000);
const warm = Math.min(10000, Math.floor(n / 2));
const clock = new ManualClock(Date.now());
const driver = new CallDriver(clock, false);
const gc = { minor: 0, major: 0, minorMs: 0, majorMs: 0 };
new PerformanceObserver((list) => {
  for (const e of list.getEntries()) {
    const major = (e as unknown as { detail: { kind: number } }).detail.kind === constants.NODE_PERFORMANCE_GC_MAJOR;
    if (major) { gc.major++; gc.majorMs += e.duration; } else { gc.minor++; gc.minorMs += e.duration; }
  }
}).observe({ entryTypes: ['gc'] });

const tags: (string | undefined)[] = [];
let cpu0 = process.cpuUsage();
for (let i = 0; i < n; i++) {
  if (i === warm) { cpu0 = process.cpuUsage(); Object.assign(gc, { minor: 0, major: 0, minorMs: 0, majorMs: 0 }); }
  tags[i] = driver.setUp(i);
  if (i >= hold) { driver.hangUp(i - hold, tags[i - hold]!); tags[i - hold] = undefined; }
  clock.t += 1; // 1,000 calls per simulated second
  if (i % 10 === 0) driver.rt.timers.advance();
  if (i % 100 === 0) await new Promise(setImmediate); // the shard's flush, as between batches
}
const cpu = process.cpuUsage(cpu0);
const m = n - warm;
console.log(`${m} calls in one shard at a simulated 1,000/s, ${hold} ms hold: ${((cpu.user + cpu.system) / m).toFixed(1)} us CPU/call ` +
  `(= ${((cpu.user + cpu.system) / m / 1000).toFixed(3)} CPU s per 1000 calls); GC: ${gc.minor} minor (${gc.minorMs.toFixed(0)} ms), ` +
  `${gc.major} major (${gc.majorMs.toFixed(0)} ms); ${driver.rt.dialogs.stats().confirmed} dialogs, ${driver.rt.core.transactionCount} transactions held`);
driver.rt.stop();
process.exit(0);
