// Memory per held dialog in one shard, in-thread: N calls driven to the confirmed state through
// ShardRuntime (INVITE, 100, 180, 200, ACK; no BYE), heap + external measured after a forced GC
// before, right after (transactions still in Timer L/M) and after the transaction timers ran out.
// Also the main thread's checkpoint bytes per dialog (what DialogCheckpoints keeps).
// Usage: --help.
import { DialogCheckpoints } from '../lib/shard/dialog-checkpoint.js';
import { ManualClock } from '../lib/txn/timers.js';
import { CallDriver } from './lib/shard-calls.js';
import { exitOnHelp, positionalNumber } from './lib/args.js';

const USAGE = 'node --expose-gc dist/bench/dialog-memory.js [dialogs, default 20000]';
exitOnHelp(USAGE);
const n = positionalNumber(USAGE, 0, 20000);
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) { console.error('run with node --expose-gc'); process.exit(2); }
const used = (): number => { gc(); gc(); const m = process.memoryUsage(); return m.heapUsed + m.external + m.arrayBuffers; };

const clock = new ManualClock(Date.now());
const checkpoints = new DialogCheckpoints();
let checkpointBytes = 0;
const driver = new CallDriver(clock, false, (b) => {
  for (const o of b.out) if (o.t === 'dlg') { checkpoints.apply(0, o.k, o.d); if (o.d !== null) checkpointBytes += o.d.byteLength; }
});
const rt = driver.rt;
// warm-up call (code, caches) then ended and expired
driver.hangUp(0, driver.setUp(0));
clock.t += 60_000; rt.timers.advance();

const before = used();
for (let i = 1; i <= n; i++) {
  driver.setUp(i);
  // let the shard's flush immediates run, as between batches in a worker
  if (i % 100 === 0) { clock.t += 10; rt.timers.advance(); await new Promise(setImmediate); }
}
const atEnd = used();
clock.t += 40_000; rt.timers.advance();
const later = used();
const kb = (x: number): string => (x / n / 1024).toFixed(2);
console.log(`${n} confirmed dialogs in one shard (${rt.dialogs.stats().confirmed} counted), timers pending ${rt.timers.size}`);
console.log(`  shard + main heap+external per dialog: ${kb(atEnd - before)} kB with transactions alive, ${kb(later - before)} kB after Timer L/M`);
console.log(`  checkpoint payload per dialog: ${(checkpointBytes / n).toFixed(0)} B (${checkpoints.size} kept)`);
rt.stop();
process.exit(0);
