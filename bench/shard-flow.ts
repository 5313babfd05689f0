// One shard's CPU per call, without sockets or threads: a full call (INVITE, 100, 180, 200, ACK,
// BYE, 200) driven through ShardRuntime in a loop. Run with --cpu-prof to see where time goes.
import { CallDriver } from './lib/shard-calls.js';
import { exitOnHelp, positionalNumber } from './lib/args.js';

const USAGE = 'node dist/bench/shard-flow.js [calls, default 20000]   (add --cpu-prof to profile)';
exitOnHelp(USAGE);
const n = positionalNumber(USAGE, 0, 20000);
const driver = new CallDriver();
const rt = driver.rt;
const call = (i: number): void => driver.hangUp(i, driver.setUp(i));

for (let i = 0; i < 2000; i++) call(i);
const start = process.cpuUsage();
const t0 = process.hrtime.bigint();
for (let i = 2000; i < 2000 + n; i++) call(i);
const wall = Number(process.hrtime.bigint() - t0) / 1e6;
const cpu = process.cpuUsage(start);
console.log(`${n} calls in one shard: ${(wall * 1000 / n).toFixed(1)} us wall/call, ${((cpu.user + cpu.system) / n).toFixed(1)} us CPU/call (= ${((cpu.user + cpu.system) / n / 1000).toFixed(3)} CPU s per 1000 calls, shard work only)`);
console.log('dialogs', rt.dialogs.stats(), 'timers pending', rt.timers.size);
rt.stop();
process.exit(0);
