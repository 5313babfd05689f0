// Micro benchmark of the shard channel (lib/shard/sip-frames.ts): the main thread sends batches of
// SIP messages to a worker, which reads each one and answers with a batch of the same size, as a
// shard does; CPU time of each thread per message (from /proc/thread-self, so the other
// thread's work is not counted). Formats: `objects` (one structured-cloned {d, s} per message, the
// channel before packing), `runs` (one transferred ArrayBuffer per stretch of sends between two
// control items, distinct targets once) and `batch` (the shard's sends in one ArrayBuffer after
// its control items: sip-frames.ts packSipAfterControl, what the shards do). With --dlg-every N the
// shard's answer carries a dialog checkpoint (a control item, ~200 bytes) after every N sends, as
// a call's 200 and BYE make one: about every 3-4 sends at steady call load.
// Usage: --help.
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { fileURLToPath } from 'node:url';
import { forEachSip, packSipAfterControl, SipRunWriter, type PackedSip } from '../lib/shard/sip-frames.js';
import { SourceTargets } from '../lib/transport/source-targets.js';
import type { SendTarget } from '../lib/transport/types.js';
import { minMedian, threadCpuUs } from './lib/thread-clock.js';
import { parseBenchArgs } from './lib/args.js';

const FORMATS = ['objects', 'runs', 'batch'] as const;
type Format = (typeof FORMATS)[number];
interface Setup { format: Format; batch: number; bytes: number; dlgEvery: number }
type Dlg = { t: 'dlg'; k: string; d: Uint8Array };
type OutItem = { t: 'sip'; d: Uint8Array; to: SendTarget } | Dlg | PackedSip;

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

const sipData = (i: OutItem): Uint8Array | undefined => (i.t === 'sip' ? i.d : undefined);
const sipTarget = (i: OutItem): SendTarget => (i as { to: SendTarget }).to;

/** The packing before packSipAfterControl: a run closed at each control item, kept in place. */
function packRunsInPlace(items: readonly OutItem[], writer: SipRunWriter, transfer: ArrayBuffer[]): OutItem[] {
  const out: OutItem[] = [];
  const close = (): void => {
    const p = writer.close();
    if (p !== undefined) { out.push(p); transfer.push(p.b); }
  };
  for (const item of items) {
    if (item.t === 'sip') writer.add(item.d, item.to); // two targets here: never full
    else { close(); out.push(item); }
  }
  close();
  return out;
}

function shardSide(setup: Setup): void {
  const replies = messages(setup.batch, setup.bytes);
  const to: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070, connId: 0 };
  const writer = new SipRunWriter();
  let dlgs = 0;
  const started = threadCpuUs();
  parentPort!.on('message', (batch: Array<{ t: 'sip'; d: Uint8Array; s: SendTarget } | PackedSip | { t: 'end' }>) => {
    if (batch[0]!.t === 'end') { parentPort!.postMessage({ cpuUs: threadCpuUs() - started, sink }); return; }
    let n = 0;
    for (const item of batch) {
      // read in place, as the shard does (it copies only what it keeps past the batch: SipMessage.keepBytes)
      if (item.t === 'sipb') forEachSip(item, (v) => { touch(v); n++; });
      else if (item.t === 'sip') { touch(Buffer.from(item.d.buffer, item.d.byteOffset, item.d.byteLength)); n++; }
    }
    const out: OutItem[] = [];
    for (let i = 0; i < n; i++) {
      out.push({ t: 'sip', d: replies[i]!, to });
      // a fresh checkpoint each time, as packDialog writes one
      if (setup.dlgEvery > 0 && (i + 1) % setup.dlgEvery === 0) out.push({ t: 'dlg', k: `call-${dlgs++}@bench`, d: Buffer.alloc(200, 7) });
    }
    if (setup.format === 'objects') { parentPort!.postMessage({ n, out }); return; }
    const transfer: ArrayBuffer[] = [];
    const packed = setup.format === 'runs' ? packRunsInPlace(out, writer, transfer) : packSipAfterControl(out, sipData, sipTarget, writer, transfer);
    parentPort!.postMessage({ n, out: packed }, transfer);
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
        else if (item.t === 'dlg') touch(item.d); // the main thread files it by key
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
  const USAGE = `node dist/bench/channel.js [--batches 20000] [--batch 64] [--bytes 600] [--rounds 3] [--dlg-every 0]
  [--formats objects,runs,batch]`;
  const { values: o } = parseBenchArgs(USAGE, {
    options: {
      batches: { type: 'string', default: '20000' }, batch: { type: 'string', default: '64' }, bytes: { type: 'string', default: '600' },
      rounds: { type: 'string', default: '3' }, 'dlg-every': { type: 'string', default: '0' }, formats: { type: 'string', default: FORMATS.join(',') },
    },
  });
  const formats = o.formats.split(',').filter((f): f is Format => (FORMATS as readonly string[]).includes(f));
  const dlgEvery = Number(o['dlg-every']);
  const batches = Number(o.batches);
  const batch = Number(o.batch);
  const per = (us: number): number => us / (batches * batch * 2);
  console.log(`channel: ${batches} batches of ${batch} x ${o.bytes} B each way` +
    `${dlgEvery > 0 ? `, a dialog checkpoint after every ${dlgEvery} sends` : ''}; CPU us per message (in or out) on each thread`);
  const seen = new Map<Format, { main: number[]; shard: number[] }>(formats.map((f) => [f, { main: [], shard: [] }]));
  // formats alternate within each round, so a busy moment of the shared machine hits them alike
  for (let r = 0; r < Number(o.rounds); r++) {
    for (const format of formats) {
      const { mainUs, shardUs } = await mainSide({ format, batch, bytes: Number(o.bytes), dlgEvery }, batches);
      seen.get(format)!.main.push(per(mainUs));
      seen.get(format)!.shard.push(per(shardUs));
      console.log(`round ${r + 1} ${format.padEnd(7)} main ${per(mainUs).toFixed(3)} us/msg  shard ${per(shardUs).toFixed(3)} us/msg`);
    }
  }
  console.log('us/msg min / median:');
  for (const [f, v] of seen) console.log(`  ${f.padEnd(7)} main ${minMedian(v.main)}  shard ${minMedian(v.shard)}`);
} else {
  shardSide(workerData as Setup);
}
