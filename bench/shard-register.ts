// One shard's CPU per registration, without sockets or threads: REGISTER, 401, REGISTER with MD5
// digest credentials (qop=auth), 200, as bench/sipp/register-auth.xml sends them, driven through
// ShardRuntime for distinct users. The two steps are timed apart, in blocks of BLOCK registrations
// (the credential-less REGISTERs of a block, then their authenticated retries), so the cost of the
// 401 and of the digest check + binding is each visible; the client's digest work happens between
// the timed blocks. Rounds report min / median. Run with --cpu-prof to see where time goes.
// Usage: --help.
// With --expose-gc it also prints the heap left after a full GC.
import { answerChallenge } from '../lib/sip/digest.js';
import type { FromShardBatch } from '../lib/shard/channel.js';
import { firstChallenge, REGISTRAR_URI, registerRequest } from '../lib/shard/call-driver.js';
import { benchShard, CALLER } from './lib/shard-calls.js';
import { benchUsers } from './lib/target.js';
import { exitOnHelp, positionalNumber } from './lib/args.js';

const USAGE = 'node [--expose-gc] dist/bench/shard-register.js [registrations per round, default 20000] [users, default 1000] [rounds, default 3]';
exitOnHelp(USAGE);
const n = positionalNumber(USAGE, 0, 20000);
const users = benchUsers(positionalNumber(USAGE, 1, 1000));
const rounds = Math.max(1, positionalNumber(USAGE, 2, 3));
/** registrations per timed block: well inside the nonce manager's memory of recent nonces (4,096) */
const BLOCK = 256;

let sent: Uint8Array[] = [];
let updates = 0;
/** the system clock, moved on by hand at the end so that the run's transactions end (Timer J) */
let skewMs = 0;
const clock = { now: (): number => Date.now() + skewMs };
const rt = benchShard((b: FromShardBatch) => {
  for (const o of b.out) {
    if (o.t === 'sip') sent.push(o.d);
    else if (o.t === 'bind') updates++;
  }
}, clock, true, { users: users.map((u) => ({ username: u.username, password: u.password })), auth: { algorithms: ['MD5'] } });

/** as the worker channel hands it over: an ArrayBuffer of its own */
function register(i: number, cseq: number, auth: string | undefined): Uint8Array {
  return new Uint8Array(registerRequest(i, cseq, users[i % users.length]!.username, auth));
}

function cpuUs(since: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(since);
  return d.user + d.system;
}

/** Registrations [from, from + count) in blocks; CPU microseconds of each step, summed. */
function registrations(from: number, count: number): { challenge: number; auth: number } {
  let challengeUs = 0;
  let authUs = 0;
  for (let b = from; b < from + count; b += BLOCK) {
    const end = Math.min(b + BLOCK, from + count);
    // built before the clock starts: the phones' work is not the shard's
    const first = [];
    for (let i = b; i < end; i++) first.push(register(i, 1, undefined));
    sent = [];
    let t0 = process.cpuUsage();
    for (const d of first) rt.handleBatch([{ t: 'sip', d, s: { ...CALLER } }]);
    challengeUs += cpuUs(t0);
    const challenges = sent;
    if (challenges.length !== end - b) throw new Error(`${challenges.length} answers to ${end - b} REGISTERs`);
    const second = [];
    for (let i = b; i < end; i++) {
      const text = Buffer.from(challenges[i - b]!).toString('latin1');
      const challenge = firstChallenge(text);
      if (challenge === undefined) throw new Error(`no 401 challenge: ${text.slice(0, 40)}`);
      const u = users[i % users.length]!;
      const auth = answerChallenge(challenge, { username: u.username, password: u.password, method: 'REGISTER', uri: REGISTRAR_URI });
      second.push(register(i, 2, auth));
    }
    sent = [];
    t0 = process.cpuUsage();
    for (const d of second) rt.handleBatch([{ t: 'sip', d, s: { ...CALLER } }]);
    authUs += cpuUs(t0);
    for (const d of sent) if (Buffer.from(d.subarray(0, 11)).toString('latin1') !== 'SIP/2.0 200') throw new Error('registration refused');
  }
  return { challenge: challengeUs, auth: authUs };
}

registrations(0, 2000); // warm-up: code compiled, every user's binding and cached hashes made once
const rows: Array<{ challenge: number; auth: number; total: number }> = [];
for (let r = 0; r < rounds; r++) {
  const t = registrations(2000 + r * n, n);
  const row = { challenge: t.challenge / n, auth: t.auth / n, total: (t.challenge + t.auth) / n };
  rows.push(row);
  console.log(`round ${r + 1}: 401 step ${row.challenge.toFixed(1)} us, authenticated step ${row.auth.toFixed(1)} us, ` +
    `registration ${row.total.toFixed(1)} us CPU`);
}

function minMedian(pick: (r: typeof rows[number]) => number): { min: number; median: number; text: string } {
  const v = rows.map(pick).sort((a, b) => a - b);
  const min = v[0]!;
  const median = v[Math.floor((v.length - 1) / 2)]!;
  return { min, median, text: `${min.toFixed(1)} / ${median.toFixed(1)}` };
}
const total = minMedian((r) => r.total);
console.log(`${n} registrations x ${rounds} rounds in one shard (${users.length} users, MD5 qop=auth), us CPU min / median: ` +
  `401 step ${minMedian((r) => r.challenge).text}, authenticated step ${minMedian((r) => r.auth).text}, ` +
  `registration ${total.text} (median ${(total.median / 1000).toFixed(3)} CPU s per 1000, shard work only), ${updates} binding updates`);
// with node --expose-gc: what the shard holds after all of it (bindings, nc counters, caches)
const gc = (globalThis as { gc?: () => void }).gc;
if (gc !== undefined) {
  // timers never fire inside the synchronous loop: every REGISTER's transaction is still alive
  skewMs = 40_000;
  rt.timers.advance();
  gc();
  gc();
  console.log(`heap used after ${2000 + rounds * n} registrations, their transactions ended and a full GC: ${(process.memoryUsage().heapUsed / 1048576).toFixed(1)} MB`);
}
rt.stop();
process.exit(0);
