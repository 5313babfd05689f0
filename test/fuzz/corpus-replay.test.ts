// Every input the fuzzer ever failed on (test/fuzz/corpus/*.sip, with the reason beside it in
// .sip.txt) goes through a shard again and must now pass: no exception, no internal error, no
// transaction left behind once the timers have run.
import t from 'tap';
import { InThreadTarget } from './lib/targets.js';
import { regressionCases } from './lib/seeds.js';

const cases = regressionCases();
t.ok(cases.length > 0, `${cases.length} regression cases`);
const target = new InThreadTarget();
for (const c of cases) t.equal(target.feed(c.data), undefined, c.name);
const left = target.settle();
t.equal(left.transactions, 0, 'no transaction left once every timer ran');
target.close();
