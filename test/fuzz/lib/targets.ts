// What the fuzzer feeds: a shard in this thread (parser, transactions, proxy core, registrar,
// dialogs; fake clock) and the running proxy over UDP and TCP. A finding is an exception that
// escapes, an internal error counted by the proxy core, an input that takes too long, something we
// send that does not parse, state that is still there once every timer has run, a shard that
// dies, or a proxy that stops answering.
import { createSocket } from 'node:dgram';
import { connect, type Socket } from 'node:net';
import { ShardHarness, CALLER } from '../../helpers/shard-harness.js';
import { probeOptions } from '../../helpers/options-probe.js';
import { startTestProxy } from '../../helpers/proxy-harness.js';
import { shardTotals } from '../../helpers/shard-totals.js';
import { mutate, rng } from './mutator.js';

export interface Finding { input: Buffer; why: string }
export interface FuzzReport { target: string; inputs: number; findings: Finding[]; slowestMs: number; detail: Record<string, unknown> }

const SLOW_MS = 250;

/** One shard in this thread; `feed` returns why an input failed, or undefined. */
export class InThreadTarget {
  private h = new ShardHarness({ auth: { register: true, invite: true, realm: 'sipshard', algorithms: ['SHA-256', 'MD5'], nonceTtlSeconds: 300 } });
  private fed = 0;
  slowestMs = 0;

  feed(input: Buffer): string | undefined {
    const before = this.h.runtime.stats.internalErrors;
    const t0 = performance.now();
    try {
      this.h.runtime.handleBatch([{ t: 'sip', d: input, s: CALLER }]);
      if (++this.fed % 100 === 0) this.h.advance(5000); // let timers run: retransmits, timeouts
    } catch (err) {
      return `exception: ${(err as Error)?.stack ?? String(err)}`;
    } finally {
      this.h.take();
    }
    const ms = performance.now() - t0;
    if (ms > this.slowestMs) this.slowestMs = ms;
    if (this.h.runtime.stats.internalErrors !== before) return 'internal error counted by the proxy core';
    if (ms > SLOW_MS) return `slow: ${ms.toFixed(0)} ms for one message`;
    return undefined;
  }

  /** Run every timer out; what is left then leaks. */
  settle(): { transactions: number; timers: number; dialogs: number } {
    this.h.advance(200_000);
    this.h.take();
    const r = this.h.runtime.report();
    return { transactions: r.transactions, timers: r.timers, dialogs: r.dialogs.total };
  }

  close(): void {
    this.h.close();
  }
}

export interface FuzzOptions {
  seconds: number;
  seed: number;
  seeds: Buffer[];
  onFinding?: (f: Finding) => void;
}

function* inputs(o: FuzzOptions): Generator<Buffer> {
  const r = rng(o.seed);
  for (const s of o.seeds) yield s; // every seed once as it is
  for (;;) yield mutate(r, o.seeds[Math.floor(r() * o.seeds.length)]!, o.seeds[Math.floor(r() * o.seeds.length)]!);
}

export async function fuzzInThread(o: FuzzOptions): Promise<FuzzReport> {
  const target = new InThreadTarget();
  const findings: Finding[] = [];
  const deadline = Date.now() + o.seconds * 1000;
  const heapBefore = process.memoryUsage().heapUsed;
  let n = 0;
  for (const input of inputs(o)) {
    if ((n & 63) === 0 && Date.now() > deadline) break;
    n++;
    const why = target.feed(input);
    if (why !== undefined) { const f = { input, why }; findings.push(f); o.onFinding?.(f); }
    // let host-name lookups of forwarded requests settle, as they would in a running shard
    if ((n & 255) === 0) await new Promise((r) => setImmediate(r));
  }
  // host-name lookups still queued in libuv's pool hold their transactions until they answer
  let left = target.settle();
  for (let i = 0; i < 40 && left.transactions > 0; i++) {
    await new Promise((r) => setTimeout(r, 250));
    left = target.settle();
  }
  if (left.transactions > 0 || left.timers > 1) findings.push({ input: Buffer.alloc(0), why: `state left after every timer ran: ${JSON.stringify(left)}` });
  target.close();
  const heapAfter = process.memoryUsage().heapUsed;
  return { target: 'in-thread', inputs: n, findings, slowestMs: Math.round(target.slowestMs), detail: { left, heapGrowthMB: Math.round((heapAfter - heapBefore) / 1e5) / 10 } };
}

/** The running proxy (2 shards) over UDP and TCP, probed with OPTIONS every second. */
export async function fuzzWire(o: FuzzOptions): Promise<FuzzReport> {
  // the fuzzer is one source sending thousands a second: the per-source limit would ban it
  const proxy = await startTestProxy({ workers: 2, security: { ratePerWindow: 0, maxAuthFailures: 0 } });
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  udp.on('message', () => undefined);
  let tcp: Socket | undefined;
  const tcpConn = (): Socket => {
    if (tcp === undefined || tcp.destroyed) {
      tcp = connect({ host: '127.0.0.1', port: proxy.tcpPort });
      tcp.on('error', () => undefined);
      tcp.on('data', () => undefined);
    }
    return tcp;
  };
  const findings: Finding[] = [];
  const recent: Buffer[] = [];
  const rssBefore = process.memoryUsage().rss;
  const deadline = Date.now() + o.seconds * 1000;
  let n = 0;
  let nextProbe = Date.now() + 1000;
  let slowestMs = 0;
  const gen = inputs(o);
  try {
    while (Date.now() < deadline) {
      for (let i = 0; i < 40; i++) {
        const input = gen.next().value as Buffer;
        n++;
        recent.push(input);
        if (recent.length > 200) recent.shift();
        if (input.length <= 65_000) udp.send(input, proxy.udpPort, '127.0.0.1');
        // every 4th over TCP; a framing error closes the connection and the next one opens anew
        if (n % 4 === 0) tcpConn().write(input);
      }
      await new Promise((r) => setTimeout(r, 10));
      if (Date.now() >= nextProbe) {
        const t0 = Date.now();
        const alive = await probeOptions(proxy.udpPort, 2000).then(() => true, () => false);
        slowestMs = Math.max(slowestMs, Date.now() - t0);
        if (!alive) { for (const input of recent.slice(-20)) { const f = { input, why: 'proxy stopped answering OPTIONS (one of the last inputs)' }; findings.push(f); o.onFinding?.(f); } break; }
        if (proxy.pool.restarts > 0) { for (const input of recent.slice(-20)) { const f = { input, why: 'a shard died (one of the last inputs)' }; findings.push(f); o.onFinding?.(f); } break; }
        nextProbe = Date.now() + 1000;
      }
    }
    const alive = await probeOptions(proxy.udpPort, 3000).then(() => true, () => false);
    if (!alive) findings.push({ input: Buffer.alloc(0), why: 'proxy not answering OPTIONS after the run' });
    const totals = await shardTotals(proxy);
    const t = proxy.transports.stats();
    if (totals.internalErrors > 0) findings.push({ input: Buffer.alloc(0), why: `${totals.internalErrors} internal errors in the shards (replay in-thread to find the input)` });
    if (t.handlerErrors > 0) findings.push({ input: Buffer.alloc(0), why: `${t.handlerErrors} main-thread handler errors` });
    const rssGrowthMB = Math.round((process.memoryUsage().rss - rssBefore) / 1e5) / 10;
    return { target: 'wire (udp+tcp)', inputs: n, findings, slowestMs, detail: { restarts: proxy.pool.restarts, rssGrowthMB, totals, transport: t } };
  } finally {
    tcp?.destroy();
    udp.close();
    await proxy.close();
  }
}
