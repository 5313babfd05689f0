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

export function req(method: string, uri: string, callId: string, branch: string, cseq: number, toTag: string | undefined, body = ''): Buffer {
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

export function respond(fwd: string, status: number, reason: string, toTag: string, body = ''): Buffer {
  const lines = fwd.split('\r\n');
  const keep = lines.filter((l) => /^(Via|From|To|Call-ID|CSeq|Record-Route):/i.test(l)).map((l) => (l.startsWith('To:') ? `${l};tag=${toTag}` : l));
  return Buffer.from([`SIP/2.0 ${status} ${reason}`, ...keep, 'Contact: <sip:uas@127.0.0.1:5080>', ...(body === '' ? [] : ['Content-Type: application/sdp']), `Content-Length: ${body.length}`, '', body].join('\r\n'));
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

/** Drives calls through one shard; `sent` holds the SIP text the shard sent since the last step. */
export class CallDriver {
  sent: string[] = [];
  readonly rt: ShardRuntime;

  constructor(clock?: Clock, autoTick = true, onBatch?: (b: FromShardBatch) => void) {
    this.rt = benchShard((b) => {
      for (const o of b.out) if (o.t === 'sip') this.sent.push(Buffer.from(o.d).toString('latin1'));
      onBatch?.(b);
    }, clock, autoTick);
  }

  /** Hand messages over as the worker channel does: each in an ArrayBuffer of its own. */
  private batch(items: [Buffer, SendTarget][]): void {
    this.rt.handleBatch(items.map(([d, s]) => ({ t: 'sip', d: new Uint8Array(d), s: { ...s } })));
  }

  /** INVITE, 100, 180, 200 and ACK: the call is confirmed. Returns the callee's tag. */
  setUp(i: number): string {
    const callId = `${i}-bench@127.0.0.1`;
    this.sent = [];
    this.batch([[req('INVITE', 'sip:9000@127.0.0.1:5060', callId, `z9hG4bK-i${i}`, 1, undefined, SDP), CALLER]]);
    const inv = this.sent.find((m) => m.startsWith('INVITE'))!;
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
    this.sent = [];
    this.batch([[req('BYE', 'sip:9000@127.0.0.1:5060', callId, `z9hG4bK-b${i}`, 2, tag), CALLER]]);
    const bye = this.sent.find((m) => m.startsWith('BYE'))!;
    this.batch([[respond(bye, 200, 'OK', tag), CALLEE]]);
    this.sent = [];
  }
}
