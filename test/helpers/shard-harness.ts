// A shard driven in-thread: no sockets, no worker, time moved by hand. Feeds SIP text in and
// collects what the shard would put on the wire.
import { randomBytes } from 'node:crypto';
import type { FromShard, FromShardBatch } from '../../lib/shard/channel.js';
import { ShardRuntime } from '../../lib/shard/shard-runtime.js';
import { parseMessage } from '../../lib/sip/parser.js';
import type { SipMessage } from '../../lib/sip/message.js';
import type { SendTarget } from '../../lib/transport/types.js';
import { ManualClock } from '../../lib/txn/timers.js';
import { testConfig, type ConfigOverrides } from './proxy-harness.js';

export const PROXY_PORT = 5060;

export interface Sent { to: SendTarget; msg: SipMessage; raw: string }

export class ShardHarness {
  readonly clock = new ManualClock();
  readonly runtime: ShardRuntime;
  sent: Sent[] = [];
  /** everything else the shard posted to the main thread (checkpoints, replies, resharding) */
  posted: FromShard[] = [];

  constructor(overrides: ConfigOverrides = {}, place: { shardId?: number; shardCount?: number } = {}) {
    const config = testConfig({ listen: [{ transport: 'udp', address: '127.0.0.1', port: PROXY_PORT }], ...overrides });
    this.runtime = new ShardRuntime(
      { shardId: place.shardId ?? 0, shardCount: place.shardCount ?? 1, config, listeners: [{ transport: 'udp', address: '127.0.0.1', port: PROXY_PORT }], nonceSecret: randomBytes(32), location: new Uint8Array(0) },
      (batch: FromShardBatch) => this.collect(batch),
      this.clock,
      false,
    );
  }

  private collect(batch: FromShardBatch): void {
    for (const item of batch.out) {
      if (item.t !== 'sip') { this.posted.push(item); continue; }
      const buf = Buffer.from(item.d);
      this.sent.push({ to: item.to, msg: parseMessage(buf).message, raw: buf.toString('latin1') });
    }
  }

  /** Deliver text (LF or CRLF line ends) as if it arrived from `from`. */
  receive(text: string, from: SendTarget): void {
    const wire = text.replace(/\r?\n/g, '\r\n');
    this.runtime.handleBatch([{ t: 'sip', d: Buffer.from(wire, 'latin1'), s: from }]);
  }

  /** Move time and fire due timers; flush what they sent. */
  advance(ms: number): void {
    const step = 10;
    for (let left = ms; left > 0; left -= step) {
      this.clock.t += Math.min(step, left);
      this.runtime.timers.advance();
    }
    this.runtime.flush();
  }

  take(): Sent[] {
    const s = this.sent;
    this.sent = [];
    return s;
  }

  close(): void {
    this.runtime.stop();
  }
}

export const CALLER: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070 };
export const CALLEE: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5080 };

export function invite(opts: { callId: string; branch: string; uri?: string; maxForwards?: number; extra?: string[] }): string {
  return [
    `INVITE ${opts.uri ?? 'sip:9000@127.0.0.1:5060'} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${opts.branch}`,
    `Max-Forwards: ${opts.maxForwards ?? 70}`,
    'From: <sip:caller@127.0.0.9>;tag=ft1',
    `To: <${opts.uri ?? 'sip:9000@127.0.0.1:5060'}>`,
    `Call-ID: ${opts.callId}`,
    'CSeq: 1 INVITE',
    'Contact: <sip:caller@127.0.0.1:5070>',
    ...(opts.extra ?? []),
    'Content-Length: 0',
    '', '',
  ].join('\n');
}

/** A response from downstream to a request we forwarded (copies its Vias, From, To, Call-ID, CSeq). */
export function answer(req: SipMessage, status: number, reason: string, toTag?: string, extra: string[] = []): string {
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const v of req.getAll('via')) lines.push(`Via: ${v}`);
  lines.push(`From: ${req.get('from')}`);
  lines.push(`To: ${req.get('to')}${toTag !== undefined ? `;tag=${toTag}` : ''}`);
  lines.push(`Call-ID: ${req.callId}`, `CSeq: ${req.get('cseq')}`, ...extra, 'Content-Length: 0', '', '');
  return lines.join('\n');
}
