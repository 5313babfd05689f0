// The shard channel's framing (lib/shard/sip-frames.ts): runs of SIP messages in one transferred
// ArrayBuffer, and the shard->main packing that puts a batch's sends in one run after its control
// items, with the order guarantees the main thread relies on.
import t from 'tap';
import { readFileSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { MessageChannel } from 'node:worker_threads';
import type { FromShard, FromShardBatch } from '../../lib/shard/channel.js';
import { runShardOnPort } from '../../lib/shard/shard-port.js';
import { forEachSip, packSipAfterControl, SipRunWriter, type PackedSip } from '../../lib/shard/sip-frames.js';
import { parseMessage } from '../../lib/sip/parser.js';
import type { SendTarget } from '../../lib/transport/types.js';
import { testConfig } from '../helpers/proxy-harness.js';
import { answer, CALLEE, CALLER, invite, PROXY_PORT } from '../helpers/shard-harness.js';

type Item = { t: 'sip'; d: Uint8Array; to: SendTarget } | { t: 'dlg'; k: string } | { t: 'bind'; u: string };
const sipData = (i: Item): Uint8Array | undefined => (i.t === 'sip' ? i.d : undefined);
const sipTarget = (i: Item): SendTarget => (i as { to: SendTarget }).to;
const A: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070 };
const B: SendTarget = { transport: 'tcp', address: '::1', port: 5080, connId: 7 };
const sip = (text: string, to: SendTarget): Item => ({ t: 'sip', d: Buffer.from(text, 'latin1'), to });

/** Each message of a packed run as [text, target]. */
function unpack(p: PackedSip): Array<[string, SendTarget]> {
  const out: Array<[string, SendTarget]> = [];
  forEachSip(p, (d, to) => out.push([d.toString('latin1'), to]));
  return out;
}

t.test('a batch packs its sends into one run after its control items, each order kept', async (t) => {
  const items: Item[] = [
    sip('one', A), { t: 'bind', u: 'alice' }, sip('two', B), sip('three', A), { t: 'dlg', k: 'c1' }, sip('', B), { t: 'dlg', k: 'c2' }, sip('four', A),
  ];
  const transfer: ArrayBuffer[] = [];
  const out = packSipAfterControl(items, sipData, sipTarget, new SipRunWriter(), transfer);
  t.same(out.slice(0, 3), [{ t: 'bind', u: 'alice' }, { t: 'dlg', k: 'c1' }, { t: 'dlg', k: 'c2' }], 'control items first, in their order');
  t.equal(out.length, 4, 'one run for all five sends');
  const run = out[3] as PackedSip;
  t.equal(run.t, 'sipb');
  t.same(unpack(run), [['one', A], ['two', B], ['three', A], ['', B], ['four', A]], 'sends in their order, each with its target');
  t.equal(run.tg.length, 2, 'each distinct target once');
  t.same(transfer, [run.b], 'the run buffer is transferred, not cloned');
});

t.test('a batch without sends has no run; one without control items is just the run', async (t) => {
  const writer = new SipRunWriter();
  const control: Item[] = [{ t: 'dlg', k: 'x' }, { t: 'bind', u: 'y' }];
  const transfer: ArrayBuffer[] = [];
  t.same(packSipAfterControl(control, sipData, sipTarget, writer, transfer), control);
  t.same(transfer, []);
  t.same(packSipAfterControl([], sipData, sipTarget, writer, transfer), []);
  const out = packSipAfterControl([sip('a', A), sip('b', A)], sipData, sipTarget, writer, transfer);
  t.equal(out.length, 1);
  t.same(unpack(out[0] as PackedSip), [['a', A], ['b', A]], 'the writer starts empty for the next batch');
});

t.test('messages keep their bytes exactly, big ones too', async (t) => {
  const big = randomBytes(70_000); // length needs the third byte of the u32
  const writer = new SipRunWriter();
  writer.add(big, A);
  writer.add(Buffer.alloc(0), B);
  writer.add(Buffer.from([0, 255, 13, 10]), A);
  const got: Buffer[] = [];
  forEachSip(writer.close()!, (d) => got.push(Buffer.from(d)));
  t.same(got.map((g) => g.toString('hex')), [big.toString('hex'), '', '00ff0d0a']);
  t.equal(writer.close(), undefined, 'an empty writer closes to nothing');
});

t.test('65,536 distinct targets split the sends into two runs, still after the control items and in order', async (t) => {
  const n = 0x10000 + 2;
  const items: Item[] = [{ t: 'dlg', k: 'first' }];
  for (let i = 0; i < n; i++) {
    items.push(sip(String(i), { transport: 'udp', address: '127.0.0.1', port: i }));
    if (i === 5) items.push({ t: 'dlg', k: 'middle' });
  }
  const transfer: ArrayBuffer[] = [];
  const out = packSipAfterControl(items, sipData, sipTarget, new SipRunWriter(), transfer);
  t.same(out.slice(0, 2), [{ t: 'dlg', k: 'first' }, { t: 'dlg', k: 'middle' }]);
  t.equal(out.length, 4);
  const [r1, r2] = [out[2] as PackedSip, out[3] as PackedSip];
  t.equal(r1.tg.length, 0xffff, 'a run holds at most 65,535 targets');
  t.same(transfer, [r1.b, r2.b]);
  const ports: number[] = [];
  let inOrder = true;
  for (const r of [r1, r2]) forEachSip(r, (d, to) => { if (d.toString() !== String(to.port) || to.port !== ports.length) inOrder = false; ports.push(to.port); });
  t.equal(ports.length, n);
  t.ok(inOrder, 'every send with its own target, in order across the two runs');
});

t.test('a real shard on its port: the dialog checkpoint of a call reaches the main thread before the 200 it relays', async (t) => {
  const comm = '/proc/thread-self/comm';
  const before = process.platform === 'linux' ? readFileSync(comm, 'latin1').trim() : '';
  const config = testConfig({ listen: [{ transport: 'udp', address: '127.0.0.1', port: PROXY_PORT }], routes: [{ prefix: '9', destination: `sip:127.0.0.1:${CALLEE.port}`, strip: 1 }] });
  const { port1, port2 } = new MessageChannel();
  const batches: FromShardBatch[] = [];
  let wake: (() => void) | undefined;
  port1.on('message', (b: FromShardBatch) => { batches.push(b); wake?.(); });
  const stopped = runShardOnPort(port2, {
    shardId: 3, shardCount: 4, config, listeners: [{ transport: 'udp', address: '127.0.0.1', port: PROXY_PORT }], nonceSecret: randomBytes(32), location: new Uint8Array(0),
  });
  t.teardown(async () => {
    port1.postMessage([{ t: 'stop' }]);
    await stopped;
    port1.close();
    if (before !== '') writeFileSync(comm, before); // this test ran the shard on tap's own thread
  });
  if (before !== '') t.equal(readFileSync(comm, 'latin1').trim(), 'shard-3', 'the shard named its thread');

  /** Sends one batch to the shard, returns what it posted back (all sends and other items). */
  const roundTrip = async (items: unknown[]): Promise<{ out: FromShard[]; sent: Array<[string, SendTarget]> }> => {
    batches.length = 0;
    port1.postMessage(items);
    const deadline = Date.now() + 5000;
    while (!batches.some((b) => b.n > 0) && Date.now() < deadline) await new Promise<void>((r) => { wake = r; setTimeout(r, 50); });
    const out = batches.flatMap((b) => b.out);
    const sent = out.flatMap((i) => (i.t === 'sipb' ? unpack(i) : []));
    return { out, sent };
  };
  const first = await roundTrip([{ t: 'sip', d: Buffer.from(invite({ callId: 'frames-1@test', branch: 'z9hG4bK-f1' }).replace(/\n/g, '\r\n')), s: CALLER }]);
  const forwarded = first.sent.find(([text, to]) => text.startsWith('INVITE ') && to.port === CALLEE.port);
  if (forwarded === undefined) throw new Error(`INVITE not forwarded: ${JSON.stringify(first.sent.map(([x]) => x.slice(0, 20)))}`);
  const fwd = parseMessage(Buffer.from(forwarded[0], 'latin1')).message;

  // one batch: an OPTIONS to the proxy (answered at once: a send), then the callee's 200 (a
  // checkpoint of the confirmed dialog, then the relayed 200): the shard emits send, dlg, send
  const options = [
    `OPTIONS sip:127.0.0.1:${PROXY_PORT} SIP/2.0`, 'Via: SIP/2.0/UDP 127.0.0.1:5090;branch=z9hG4bK-fo1', 'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=p1', `To: <sip:127.0.0.1:${PROXY_PORT}>`, 'Call-ID: frames-2@test', 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
  ].join('\r\n');
  const PROBE: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5090 };
  const ok = answer(fwd, 200, 'OK', 'callee-tag', ['Contact: <sip:callee@127.0.0.1:5080>']).replace(/\n/g, '\r\n');
  const second = await roundTrip([{ t: 'sip', d: Buffer.from(options), s: PROBE }, { t: 'sip', d: Buffer.from(ok), s: CALLEE }]);
  const kinds = second.out.map((i) => i.t);
  t.same(kinds, ['dlg', 'sipb'], 'the checkpoint, then one run of both sends');
  t.match(second.sent.map(([text, to]) => [text, to.port]), [[/^SIP\/2\.0 200 OK\r\n[^]*CSeq: 1 OPTIONS/, PROBE.port], [/^SIP\/2\.0 200 OK\r\n[^]*CSeq: 1 INVITE/, CALLER.port]],
    'the OPTIONS answered, then the 200 relayed to the caller');
});
