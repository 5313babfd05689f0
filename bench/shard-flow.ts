// One shard's CPU per call, without sockets or threads: a full call (INVITE, 100, 180, 200, ACK,
// BYE, 200) driven through ShardRuntime in a loop. Run with --cpu-prof to see where time goes.
import { randomBytes } from 'node:crypto';
import { defaultConfigPath, loadConfigFile, validateConfig } from '../lib/config/load-config.js';
import type { FromShardBatch } from '../lib/shard/channel.js';
import { ShardRuntime } from '../lib/shard/shard-runtime.js';
import type { SendTarget } from '../lib/transport/types.js';

const CALLER: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070 };
const CALLEE: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5080 };
const SDP = 'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

function req(method: string, uri: string, callId: string, branch: string, cseq: number, toTag: string | undefined, body = ''): Buffer {
  return Buffer.from([
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}`,
    'From: sipp <sip:sipp@127.0.0.1:5070>;tag=1SIPpTag00',
    `To: <sip:9000@127.0.0.1:5060>${toTag === undefined ? '' : `;tag=${toTag}`}`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} ${method}`,
    'Contact: sip:sipp@127.0.0.1:5070',
    'Max-Forwards: 70',
    'Subject: Performance Test',
    ...(body === '' ? [] : ['Content-Type: application/sdp']),
    `Content-Length: ${body.length}`,
    '',
    body,
  ].join('\r\n'));
}

function respond(fwd: string, status: number, reason: string, toTag: string, body = ''): Buffer {
  const lines = fwd.split('\r\n');
  const keep = lines.filter((l) => /^(Via|From|To|Call-ID|CSeq|Record-Route):/i.test(l)).map((l) => (l.startsWith('To:') ? `${l};tag=${toTag}` : l));
  return Buffer.from([`SIP/2.0 ${status} ${reason}`, ...keep, 'Contact: <sip:uas@127.0.0.1:5080>', ...(body === '' ? [] : ['Content-Type: application/sdp']), `Content-Length: ${body.length}`, '', body].join('\r\n'));
}

const base = JSON.parse(JSON.stringify(loadConfigFile(defaultConfigPath()))) as Record<string, unknown>;
const config = validateConfig({ ...base, log: { level: 'silent' }, registrar: { storePath: '' } }, 'bench');
let last: string[] = [];
const rt = new ShardRuntime(
  { shardId: 0, shardCount: 1, config, listeners: [{ transport: 'udp', address: '127.0.0.1', port: 5060 }], nonceSecret: randomBytes(32), location: new Uint8Array(0) },
  (b: FromShardBatch) => { for (const o of b.out) if (o.t === 'sip') last.push(Buffer.from(o.d).toString('latin1')); },
);

function call(i: number): void {
  const callId = `${i}-bench@127.0.0.1`;
  last = [];
  rt.handleBatch([{ t: 'sip', d: req('INVITE', 'sip:9000@127.0.0.1:5060', callId, `z9hG4bK-i${i}`, 1, undefined, SDP), s: CALLER }]);
  const inv = last.find((m) => m.startsWith('INVITE'))!;
  const tag = `u${i}`;
  rt.handleBatch([
    { t: 'sip', d: respond(inv, 100, 'Trying', tag), s: CALLEE },
    { t: 'sip', d: respond(inv, 180, 'Ringing', tag), s: CALLEE },
    { t: 'sip', d: respond(inv, 200, 'OK', tag, SDP), s: CALLEE },
  ]);
  rt.handleBatch([{ t: 'sip', d: req('ACK', 'sip:9000@127.0.0.1:5060', callId, `z9hG4bK-a${i}`, 1, tag), s: CALLER }]);
  last = [];
  rt.handleBatch([{ t: 'sip', d: req('BYE', 'sip:9000@127.0.0.1:5060', callId, `z9hG4bK-b${i}`, 2, tag), s: CALLER }]);
  const bye = last.find((m) => m.startsWith('BYE'))!;
  rt.handleBatch([{ t: 'sip', d: respond(bye, 200, 'OK', tag), s: CALLEE }]);
}

const n = Number(process.argv[2] ?? 20000);
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
