// Micro benchmark of the shard channel (lib/shard/sip-frames.ts): the main thread sends batches of
// SIP messages to a worker, which reads each one and answers with a batch of the same size, as a
// shard does; CPU time of each thread per message (from /proc/thread-self/stat, so the other
// thread's work is not counted). Formats: `objects` (one structured-cloned {d, s} per message, the
// channel before packing) and `packed` (one transferred ArrayBuffer per run, distinct targets once).
//   node dist/bench/channel.js [--batches 20000] [--batch 64] [--bytes 600] [--rounds 3]
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { forEachSip, packSipRuns, SipRunWriter, type PackedSip } from '../lib/shard/sip-frames.js';
import { SourceTargets } from '../lib/transport/source-targets.js';
import type { SendTarget } from '../lib/transport/types.js';

type Format = 'objects' | 'packed';
interface Setup { format: Format; batch: number; bytes: number }
type OutItem = { t: 'sip'; d: Uint8Array; to: SendTarget } | PackedSip;

/** utime + stime of the calling thread, in microseconds (clock ticks of 10 ms). */
function threadCpuUs(): number {
  const f = readFileSync('/proc/thread-self/stat', 'latin1');
  const rest = f.slice(f.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) * 10_000;
}

/** Distinct messages, each in its own ArrayBuffer as dgram and the shard's serializer make them. */
function messages(n: number, bytes: number): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < n; i++) {
    const b = Buffer.allocUnsafeSlow(bytes);
    b.fill(0x41 + (i % 26));
    out.push(b);
  }
  return out;
}

let sink = 0;
const touch = (d: Uint8Array): void => { sink += d[d.length >> 1]!; };

function shardSide(setup: Setup): void {
  const replies = messages(setup.batch, setup.bytes);
  const to: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070, connId: 0 };
  const writer = new SipRunWriter();
  const sipData = (i: OutItem): Uint8Array | undefined => (i.t === 'sip' ? i.d : undefined);
  const sipTarget = (i: OutItem): SendTarget => (i as { to: SendTarget }).to;
  const started = threadCpuUs();
  parentPort!.on('message', (batch: Array<{ t: 'sip'; d: Uint8Array; s: SendTarget } | PackedSip | { t: 'end' }>) => {
    if (batch[0]!.t === 'end') { parentPort!.postMessage({ cpuUs: threadCpuUs() - started, sink }); return; }
    let n = 0;
    for (const item of batch) {
      if (item.t === 'sipb') forEachSip(item, (v) => { const own = Buffer.allocUnsafeSlow(v.length); v.copy(own); touch(own); n++; });
      else if (item.t === 'sip') { touch(Buffer.from(item.d.buffer, item.d.byteOffset, item.d.byteLength)); n++; }
    }
    const out: OutItem[] = [];
    for (let i = 0; i < n; i++) out.push({ t: 'sip', d: replies[i]!, to });
    if (setup.format === 'objects') parentPort!.postMessage({ n, out });
    else {
      const transfer: ArrayBuffer[] = [];
      parentPort!.postMessage({ n, out: packSipRuns(out, sipData, sipTarget, writer, transfer) }, transfer);
    }
  });
}

async function mainSide(setup: Setup, batches: number): Promise<{ mainUs: number; shardUs: number }> {
  const worker = new Worker(fileURLToPath(import.meta.url), { workerData: setup });
  await new Promise((r) => setTimeout(r, 200));
  const datagrams = messages(setup.batch, setup.bytes);
  const sources = new SourceTargets();
  const writer = new SipRunWriter();
  const inFlightMax = 4;
  let sent = 0;
  let done = 0;
  const started = threadCpuUs();
  const sendBatch = (): void => {
    sent++;
    if (setup.format === 'objects') {
      const q = [];
      // the old server built a target object per message
      for (let i = 0; i < setup.batch; i++) q.push({ t: 'sip', d: datagrams[i]!, s: { transport: 'udp', address: '127.0.0.1', port: 5061 + (i & 1), connId: 0 } });
      worker.postMessage(q);
    } else {
      for (let i = 0; i < setup.batch; i++) writer.add(datagrams[i]!, sources.of('udp', '127.0.0.1', 5061 + (i & 1), 0));
      const p = writer.close()!;
      worker.postMessage([p], [p.b]);
    }
  };
  const mainUs = await new Promise<number>((resolve) => {
    worker.on('message', (m: { n: number; out: OutItem[] } | { cpuUs: number }) => {
      if ('cpuUs' in m) return;
      for (const item of m.out) {
        if (item.t === 'sipb') forEachSip(item, (d) => touch(d));
        else touch(Buffer.from(item.d.buffer, item.d.byteOffset, item.d.byteLength));
      }
      done++;
      if (done === batches) resolve(threadCpuUs() - started);
      else if (sent < batches) sendBatch();
    });
    for (let i = 0; i < inFlightMax; i++) sendBatch();
  });
  const shardUs = await new Promise<number>((resolve) => {
    worker.once('message', (m: { cpuUs: number }) => resolve(m.cpuUs));
    worker.postMessage([{ t: 'end' }]);
  });
  await worker.terminate();
  return { mainUs, shardUs };
}

if (isMainThread) {
  const { values: o } = parseArgs({
    options: { batches: { type: 'string', default: '20000' }, batch: { type: 'string', default: '64' }, bytes: { type: 'string', default: '600' }, rounds: { type: 'string', default: '3' } },
  });
  const batches = Number(o.batches);
  const batch = Number(o.batch);
  const per = (us: number): string => (us / (batches * batch * 2)).toFixed(3);
  console.log(`channel: ${batches} batches of ${batch} x ${o.bytes} B each way; CPU us per message (in or out) on each thread`);
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const format of ['objects', 'packed'] as const) {
      const { mainUs, shardUs } = await mainSide({ format, batch, bytes: Number(o.bytes) }, batches);
      console.log(`round ${r + 1} ${format.padEnd(7)} main ${per(mainUs)} us/msg  shard ${per(shardUs)} us/msg`);
    }
  }
} else {
  shardSide(workerData as Setup);
}
