// One shard's CPU per registration, without sockets or threads: REGISTER, 401, REGISTER with MD5
// digest credentials (qop=auth), 200, as bench/sipp/register-auth.xml sends them, driven through
// ShardRuntime for distinct users in a loop. Run with --cpu-prof to see where time goes.
//   node dist/bench/shard-register.js [registrations, default 20000] [users, default 1000]
import { answerChallenge } from '../lib/sip/digest.js';
import type { FromShardBatch } from '../lib/shard/channel.js';
import { benchShard, CALLER } from './lib/shard-calls.js';
import { benchUsers } from './lib/target.js';

const n = Number(process.argv[2] ?? 20000);
const users = benchUsers(Number(process.argv[3] ?? 1000));
let sent: string[] = [];
let updates = 0;
const rt = benchShard((b: FromShardBatch) => {
  for (const o of b.out) {
    if (o.t === 'sip') sent.push(Buffer.from(o.d).toString('latin1'));
    else if (o.t === 'bind') updates++;
  }
}, undefined, true, { users: users.map((u) => ({ username: u.username, password: u.password })), auth: { algorithms: ['MD5'] } });

function register(i: number, cseq: number, auth: string | undefined): string {
  const u = users[i % users.length]!.username;
  const text = [
    'REGISTER sip:127.0.0.1:5060 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r${i}-${cseq};rport`,
    'Max-Forwards: 70',
    `From: <sip:${u}@127.0.0.1>;tag=77b${i}`,
    `To: <sip:${u}@127.0.0.1>`,
    `Call-ID: ${i}-reg@127.0.0.1`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${u}@127.0.0.1:5070>`,
    ...(auth === undefined ? [] : [`Authorization: ${auth}`]),
    'Expires: 3600',
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  sent = [];
  // as the worker channel hands it over: an ArrayBuffer of its own
  rt.handleBatch([{ t: 'sip', d: new Uint8Array(Buffer.from(text, 'latin1')), s: { ...CALLER } }]);
  return sent[0] ?? '';
}

function registration(i: number): void {
  const challenge = /^WWW-Authenticate: (.*)$/m.exec(register(i, 1, undefined))?.[1];
  if (challenge === undefined) throw new Error('no 401 challenge');
  const u = users[i % users.length]!;
  // the client's hashing is bench work, not the shard's: it happens here, outside nothing we time apart
  const auth = answerChallenge(challenge, { username: u.username, password: u.password, method: 'REGISTER', uri: 'sip:127.0.0.1:5060' });
  if (!register(i, 2, auth).startsWith('SIP/2.0 200')) throw new Error('registration refused');
}

for (let i = 0; i < 2000; i++) registration(i);
// the client's digest computation is measured alone and taken off, so the figure is the shard's
const clientStart = process.cpuUsage();
for (let i = 0; i < n; i++) answerChallenge('Digest realm="sipshard", nonce="x", algorithm=MD5, qop="auth"', { username: 'u0001', password: 'p', method: 'REGISTER', uri: 'sip:127.0.0.1:5060' });
const client = process.cpuUsage(clientStart);
const start = process.cpuUsage();
for (let i = 2000; i < 2000 + n; i++) registration(i);
const cpu = process.cpuUsage(start);
const us = (cpu.user + cpu.system - client.user - client.system) / n;
console.log(`${n} registrations in one shard (${users.length} users, MD5 qop=auth): ${us.toFixed(1)} us CPU/registration ` +
  `(= ${(us / 1000).toFixed(3)} CPU s per 1000, shard work only, client digest taken off), ${updates} binding updates`);
rt.stop();
process.exit(0);
