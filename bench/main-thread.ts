// In-thread bench of the main thread's per-message path, stage by stage, in CPU microseconds of the
// main thread per message (its own schedstat clock: the helper thread beside it is not counted):
//   recv     a UDP datagram received by our listener through dgram ('message' event, Buffer and
//            rinfo), sent by a helper thread
//   recv-batch  the same through the addon's recvmmsg (transport.udpBatchReceive; when it is built)
//   route    Call-ID peek, hash, jump hash to one of --workers shards, interned source target
//   post     the message added to its shard's run, the run posted (transferred) every --batch
//   fan-out  a shard's answer run read back into Buffer views (forEachSip), per message
//   send     a UDP send to a loopback socket (the helper thread's)
// What lib/server.ts does per message besides (source guard, overload checks) is left out. The
// stages alternate within each round; min and median over --rounds.
// Usage: --help.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { isMainThread, parentPort, Worker } from 'node:worker_threads';
import { peekCallId } from '../lib/shard/callid-peek.js';
import { callIdHash, jumpHash } from '../lib/shard/hash.js';
import { forEachSip, SipRunWriter, type PackedSip } from '../lib/shard/sip-frames.js';
import { SourceTargets } from '../lib/transport/source-targets.js';
import { udpBatchReceiveAvailable } from '../lib/transport/udp-batch-receive.js';
import { UdpListener } from '../lib/transport/udp-listener.js';
import type { SendTarget } from '../lib/transport/types.js';
import { minMedian, threadCpuUs } from './lib/thread-clock.js';
import { parseBenchArgs } from './lib/args.js';

/** A sipp-like INVITE with a distinct Call-ID (~560 bytes). */
function invite(i: number): Buffer {
  return Buffer.from([
    'INVITE sip:9000@127.0.0.1:5060 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4821-${i}-0`,
    `From: sipp <sip:sipp@127.0.0.1:5061>;tag=4821SIPpTag00${i}`, 'To: <sip:9000@127.0.0.1:5060>', `Call-ID: ${i}-4821@127.0.0.1`,
    'CSeq: 1 INVITE', 'Contact: sip:sipp@127.0.0.1:5061', 'Max-Forwards: 70', 'Subject: Performance Test',
    'Content-Type: application/sdp', 'Content-Length: 129', '',
    'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n',
  ].join('\r\n'));
}

type ToHelper = { t: 'blast'; port: number; from: number; n: number } | { t: 'stop' };

/** The helper thread: sends datagrams on request, drops what the main thread sends or posts. */
function helper(): void {
  const sock = createSocket('udp4');
  const msgs = Array.from({ length: 1024 }, (_, i) => invite(i));
  sock.on('message', () => undefined);
  sock.bind(0, '127.0.0.1', () => parentPort!.postMessage({ port: sock.address().port }));
  parentPort!.on('message', (m: ToHelper | PackedSip[]) => {
    if (Array.isArray(m)) return; // a posted run: dropped, as a shard would take it
    if (m.t === 'stop') { sock.close(); parentPort!.close(); return; }
    for (let i = 0; i < m.n; i++) sock.send(msgs[(m.from + i) & 1023]!, m.port, '127.0.0.1');
  });
}

let sink = 0;
const quiet = (): void => undefined;
const SILENT = { info: quiet, warn: quiet, error: quiet, debug: quiet };

async function main(): Promise<void> {
  const USAGE = `node dist/bench/main-thread.js [--messages 20000] [--batch 16] [--workers 2] [--rounds 5]`;
  const { values: o } = parseBenchArgs(USAGE, { options: {
    messages: { type: 'string', default: '20000' }, batch: { type: 'string', default: '16' },
    workers: { type: 'string', default: '2' }, rounds: { type: 'string', default: '5' },
  } });
  const n = Number(o.messages);
  const batch = Number(o.batch);
  const workers = Number(o.workers);
  const msgs = Array.from({ length: n }, (_, i) => invite(i));
  const worker = new Worker(fileURLToPath(import.meta.url));
  const [{ port: helperPort }] = (await once(worker, 'message')) as [{ port: number }];
  // the proxy's own listener, reading through dgram ('recv') and through recvmmsg ('recv-batch')
  let onDatagram: (d: Buffer) => void = () => undefined;
  const listener = async (udpBatchReceive: boolean): Promise<UdpListener> => {
    const l = new UdpListener({ transport: 'udp', address: '127.0.0.1', port: 0 }, {
      maxMessageBytes: 65535, udpRecvBufferBytes: 4 << 20, udpSendBufferBytes: 0, udpBatchReceive,
      tcpIdleTimeoutMs: 0, tcpConnectTimeoutMs: 0, maxConnections: 0, maxConnectionsPerSource: 0,
    }, SILENT, (d) => onDatagram(d));
    await l.listen();
    return l;
  };
  const rx = await listener(false);
  const rxBatch = udpBatchReceiveAvailable ? await listener(true) : undefined;
  const tx: Socket = createSocket({ type: 'udp4', lookup: (a, _o, cb) => cb(null, a, 4) });
  await new Promise<void>((r) => tx.bind(0, '127.0.0.1', r));
  const sources = new SourceTargets();
  const writers = Array.from({ length: workers }, () => new SipRunWriter());
  const to: SendTarget = { transport: 'udp', address: '127.0.0.1', port: helperPort, connId: 0 };

  // a shard's answer: runs of --batch sends
  const answerWriter = new SipRunWriter();
  const answers: PackedSip[] = [];
  for (let i = 0; i < n; i += batch) {
    for (let k = i; k < Math.min(n, i + batch); k++) answerWriter.add(msgs[k]!, to);
    answers.push(answerWriter.close()!);
  }

  const recvOn = async (l: UdpListener): Promise<number> => {
    const chunk = 256; // well within the 4 MB receive buffer
    let got = 0;
    let lost = 0;
    let wake: () => void = () => undefined;
    onDatagram = (d: Buffer) => { sink += d.length; if (++got % chunk === 0 || got === n) wake(); };
    const t0 = threadCpuUs();
    for (let from = 0; from < n; from += chunk) {
      const want = Math.min(n, from + chunk);
      const arrived = new Promise<void>((r) => { wake = r; });
      worker.postMessage({ t: 'blast', port: l.boundConfig!.port, from, n: want - from } satisfies ToHelper);
      const late = setTimeout(() => wake(), 200);
      await arrived;
      clearTimeout(late);
      if (got < want) { lost += want - got; got = want; }
    }
    const us = threadCpuUs() - t0;
    onDatagram = () => undefined;
    if (lost > 0) process.stderr.write(`recv: ${lost} datagrams lost\n`);
    return us;
  };
  const route = (): number => {
    const t0 = threadCpuUs();
    for (let i = 0; i < n; i++) {
      const callId = peekCallId(msgs[i]!);
      sink += jumpHash(callIdHash(callId ?? ''), workers);
      sink += sources.of('udp', '127.0.0.1', 5061 + (i & 7), 0).port;
    }
    return threadCpuUs() - t0;
  };
  const post = (): number => {
    const t0 = threadCpuUs();
    for (let i = 0; i < n; i++) {
      const w = writers[i % workers]!;
      w.add(msgs[i]!, to);
      if (w.count >= batch || i === n - 1) {
        const p = w.close()!;
        worker.postMessage([p], [p.b]);
      }
    }
    for (const w of writers) { const p = w.close(); if (p !== undefined) worker.postMessage([p], [p.b]); }
    return threadCpuUs() - t0;
  };
  const fanOut = (): number => {
    const t0 = threadCpuUs();
    for (const a of answers) forEachSip(a, (d) => { sink += d.length; });
    return threadCpuUs() - t0;
  };
  const send = async (): Promise<number> => {
    const t0 = threadCpuUs();
    for (let i = 0; i < n; i++) {
      tx.send(msgs[i]!, helperPort, '127.0.0.1');
      // let the socket drain now and then, as the event loop does between batches
      if ((i & 255) === 255) await new Promise((r) => setImmediate(r));
    }
    return threadCpuUs() - t0;
  };

  const stages: Array<[string, () => number | Promise<number>]> = [['recv', () => recvOn(rx)],
    ...(rxBatch === undefined ? [] : [['recv-batch', () => recvOn(rxBatch)] as [string, () => Promise<number>]]), ['route', route], ['post', post], ['fan-out', fanOut], ['send', send]];
  const seen = new Map<string, number[]>(stages.map(([s]) => [s, []]));
  console.log(`main thread: ${n} messages of ${msgs[0]!.length} B, runs of ${batch}, ${workers} shards; CPU us per message`);
  for (let r = 0; r < Number(o.rounds); r++) {
    const line: string[] = [];
    for (const [name, fn] of stages) {
      const per = (await fn()) / n;
      seen.get(name)!.push(per);
      line.push(`${name} ${per.toFixed(3)}`);
    }
    console.log(`round ${r + 1}: ${line.join('  ')}`);
  }
  console.log('us/msg min / median:');
  for (const [name, v] of seen) console.log(`  ${name.padEnd(10)} ${minMedian(v)}`);
  worker.postMessage({ t: 'stop' } satisfies ToHelper);
  await rx.close();
  await rxBatch?.close();
  tx.close();
  if (sink === 0.5) console.log(''); // keeps the reads alive
}

if (isMainThread) await main();
else helper();
