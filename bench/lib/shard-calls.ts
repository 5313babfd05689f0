// In-thread call driving for the shard benches (shard-flow, dialog-memory): SIP messages as sipp's
// uac/uas would send them, pushed through a ShardRuntime without sockets or threads.
import { randomBytes } from 'node:crypto';
import { defaultConfigPath, loadConfigFile, validateConfig } from '../../lib/config/load-config.js';
import type { FromShardBatch } from '../../lib/shard/channel.js';
import { ShardRuntime } from '../../lib/shard/shard-runtime.js';
import type { Clock } from '../../lib/txn/timers.js';
import type { SendTarget } from '../../lib/transport/types.js';

export const CALLER: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070 };
export const CALLEE: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5080 };
export const SDP = 'v=0\r\no=user1 53655765 2353687637 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 6000 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

// The simulated phones are kept cheap (plain concatenation, no RegExp, sent messages decoded only
// when read) so that shard-flow's CPU per call is mostly the shard's own.
export function req(method: string, uri: string, callId: string, branch: string, cseq: number, toTag: string | undefined, body = ''): Buffer {
  return Buffer.from(`${method} ${uri} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}\r\n` +
    'From: sipp <sip:sipp@127.0.0.1:5070>;tag=1SIPpTag00\r\n' +
    `To: <sip:9000@127.0.0.1:5060>${toTag === undefined ? '' : `;tag=${toTag}`}\r\n` +
    `Call-ID: ${callId}\r\n` +
    `CSeq: ${cseq} ${method}\r\n` +
    'Contact: sip:sipp@127.0.0.1:5070\r\n' +
    'Max-Forwards: 70\r\n' +
    'Subject: Performance Test\r\n' +
    (body === '' ? '' : 'Content-Type: application/sdp\r\n') +
    `Content-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
}

/** The header lines a UAS copies from a request into its response (RFC 3261 8.2.6.2, 12.1.1). */
const COPIED = ['Via:', 'From:', 'To:', 'Call-ID:', 'CSeq:', 'Record-Route:'];

export function respond(fwd: string, status: number, reason: string, toTag: string, body = ''): Buffer {
  let out = `SIP/2.0 ${status} ${reason}\r\n`;
  const end = fwd.indexOf('\r\n\r\n');
  for (let a = fwd.indexOf('\r\n') + 2; a < end + 2;) {
    const b = fwd.indexOf('\r\n', a);
    if (COPIED.some((p) => fwd.startsWith(p, a))) out += fwd.startsWith('To:', a) ? `${fwd.slice(a, b)};tag=${toTag}\r\n` : fwd.slice(a, b + 2);
    a = b + 2;
  }
  out += 'Contact: <sip:uas@127.0.0.1:5080>\r\n';
  if (body !== '') out += 'Content-Type: application/sdp\r\n';
  return Buffer.from(`${out}Content-Length: ${body.length}\r\n\r\n${body}`, 'latin1');
}

/** A shard with the default config (silent log, no registrar file, `overrides` on top) and a sink for what it sends. */
export function benchShard(post: (b: FromShardBatch) => void, clock?: Clock, autoTick = true, overrides: Record<string, unknown> = {}): ShardRuntime {
  const base = JSON.parse(JSON.stringify(loadConfigFile(defaultConfigPath()))) as Record<string, unknown>;
  const merged: Record<string, unknown> = { ...base, log: { level: 'silent' }, registrar: { storePath: '' } };
  // one level deep: `auth: { algorithms }` keeps the rest of the default auth section
  for (const [k, v] of Object.entries(overrides)) {
    const was = merged[k];
    merged[k] = v !== null && typeof v === 'object' && !Array.isArray(v) && was !== null && typeof was === 'object' ? { ...was, ...v } : v;
  }
  const config = validateConfig(merged, 'bench');
  return new ShardRuntime(
    { shardId: 0, shardCount: 1, config, listeners: [{ transport: 'udp', address: '127.0.0.1', port: 5060 }], nonceSecret: randomBytes(32), location: new Uint8Array(0) },
    post, clock, autoTick,
  );
}

/** Drives calls through one shard. */
export class CallDriver {
  readonly rt: ShardRuntime;
  /** what the shard sent since the last step, decoded only when looked for */
  private sent: Uint8Array[] = [];

  constructor(clock?: Clock, autoTick = true, onBatch?: (b: FromShardBatch) => void) {
    this.rt = benchShard((b) => {
      for (const o of b.out) if (o.t === 'sip') this.sent.push(o.d);
      onBatch?.(b);
    }, clock, autoTick);
  }

  /** Hand messages over as the worker channel does: each in an ArrayBuffer of its own. */
  private batch(items: [Buffer, SendTarget][]): void {
    this.sent = [];
    this.rt.handleBatch(items.map(([d, s]) => ({ t: 'sip', d: new Uint8Array(d), s: { ...s } })));
  }

  /** The first request of this method the shard sent in the last step, as text. */
  private forwarded(method: string): string {
    for (const d of this.sent) {
      const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      if (b.toString('latin1', 0, method.length + 1) === `${method} `) return b.toString('latin1');
    }
    throw new Error(`the shard sent no ${method}`);
  }

  /** INVITE, 100, 180, 200 and ACK: the call is confirmed. Returns the callee's tag. */
  setUp(i: number): string {
    const callId = `${i}-bench@127.0.0.1`;
    this.batch([[req('INVITE', 'sip:9000@127.0.0.1:5060', callId, `z9hG4bK-i${i}`, 1, undefined, SDP), CALLER]]);
    const inv = this.forwarded('INVITE');
    const tag = `u${i}`;
    this.batch([
      [respond(inv, 100, 'Trying', tag), CALLEE],
      [respond(inv, 180, 'Ringing', tag), CALLEE],
      [respond(inv, 200, 'OK', tag, SDP), CALLEE],
    ]);
    this.batch([[req('ACK', 'sip:9000@127.0.0.1:5060', callId, `z9hG4bK-a${i}`, 1, tag), CALLER]]);
    this.sent = [];
    return tag;
  }

  /** BYE and its 200. */
  hangUp(i: number, tag: string): void {
    const callId = `${i}-bench@127.0.0.1`;
    this.batch([[req('BYE', 'sip:9000@127.0.0.1:5060', callId, `z9hG4bK-b${i}`, 2, tag), CALLER]]);
    const bye = this.forwarded('BYE');
    this.batch([[respond(bye, 200, 'OK', tag), CALLEE]]);
    this.sent = [];
  }
}
