// Micro benchmarks (tinybench): our parser against the npm `sip` parser in the same run, plus the
// main thread's per-message work (Call-ID peek + shard hash) and serialization. Prints ops/s and
// ratios. Not a test: figures vary with the machine's load.
import { createRequire } from 'node:module';
import { Bench } from 'tinybench';
import { parseMessage } from '../lib/sip/parser.js';
import { peekCallId } from '../lib/shard/callid-peek.js';
import { shardFor } from '../lib/shard/hash.js';

const require = createRequire(import.meta.url);
const npmSip = require('sip') as { parse(s: string): unknown };

const INVITE = Buffer.from([
  'INVITE sip:9000@127.0.0.1:5060 SIP/2.0',
  'Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4821-1-0',
  'From: sipp <sip:sipp@127.0.0.1:5061>;tag=4821SIPpTag001',
  'To: <sip:9000@127.0.0.1:5060>',
  'Call-ID: 1-4821@127.0.0.1',
  'CSeq: 1 INVITE',
  'Contact: sip:sipp@127.0.0.1:5061',
  'Max-Forwards: 70',
  'Subject: Performance Test',
  'Content-Type: application/sdp',
  'Content-Length: 129',
  '',
  'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n',
].join('\r\n'));
const INVITE_TEXT = INVITE.toString('latin1');

export async function runMicro(): Promise<Record<string, number>> {
  const bench = new Bench({ time: 1000, warmupTime: 200 });
  bench
    .add('parse (ours: index headers + Via/CSeq/From/To read)', () => {
      const { message } = parseMessage(INVITE);
      message.topVia();
      message.cseq();
      message.get('from');
      message.get('to');
    })
    .add('parse (npm sip)', () => { npmSip.parse(INVITE_TEXT); })
    .add('serialize (ours, unchanged headers)', () => { parseMessage(INVITE).message.toBuffer(); })
    .add('Call-ID peek + shard hash (main thread per message)', () => { shardFor(peekCallId(INVITE)!, 8); });
  await bench.run();
  const out: Record<string, number> = {};
  for (const task of bench.tasks) {
    const r = task.result as { latency?: { mean: number } } | undefined;
    // ops/s from mean latency (ms): the throughput mean over-weights sub-timer-resolution samples
    const hz = r?.latency !== undefined && r.latency.mean > 0 ? 1000 / r.latency.mean : 0;
    out[task.name] = Math.round(hz);
  }
  return out;
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await runMicro();
  for (const [k, v] of Object.entries(r)) console.log(`${k.padEnd(56)} ${v.toLocaleString('en-US').padStart(12)} ops/s`);
  const ours = r['parse (ours: index headers + Via/CSeq/From/To read)']!;
  const theirs = r['parse (npm sip)']!;
  console.log(`parser ratio ours / npm sip (same run): ${(ours / theirs).toFixed(2)}x`);
}
