// Calls (and registrations) driven through a ShardRuntime in-thread, as sipp's uac and uas would
// send them, with no socket or thread: the shard benches measure with it, and a shard thread warms
// its code with it before taking traffic (shard-warm-up.ts).
import { answerChallenge } from '../sip/digest.js';
import { createError } from '../errors.js';
import type { FromShardBatch } from './channel.js';
import type { ShardRuntime } from './shard-runtime.js';
import { forEachSip, packSipAfterControl, shardSendData, shardSendTarget, SipRunWriter } from './sip-frames.js';
import type { SendTarget } from '../transport/types.js';

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

/** The Request-URI (and digest uri) of the phones' REGISTERs. */
export const REGISTRAR_URI = 'sip:127.0.0.1:5060';

/** Attempt `cseq` of the i-th registration of `username`, from CALLER, as sipp's register-auth.xml writes it. */
export function registerRequest(i: number, cseq: number, username: string, authorization?: string): Buffer {
  return Buffer.from(`REGISTER ${REGISTRAR_URI} SIP/2.0\r\n` +
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-r${i}-${cseq};rport\r\n` +
    'Max-Forwards: 70\r\n' +
    `From: <sip:${username}@127.0.0.1>;tag=r${i}\r\n` +
    `To: <sip:${username}@127.0.0.1>\r\n` +
    `Call-ID: ${i}-reg@127.0.0.1\r\n` +
    `CSeq: ${cseq} REGISTER\r\n` +
    `Contact: <sip:${username}@127.0.0.1:5070>\r\n` +
    (authorization === undefined ? '' : `Authorization: ${authorization}\r\n`) +
    'Expires: 3600\r\nContent-Length: 0\r\n\r\n', 'latin1');
}

/** The first WWW-Authenticate value of a response's text (what sipp answers: the first only). */
export function firstChallenge(text: string): string | undefined {
  return /^WWW-Authenticate: *([^\r\n]*)/im.exec(text)?.[1];
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

/** Drives calls through one shard. */
export class CallDriver {
  readonly rt: ShardRuntime;
  /** what the shard sent since the last step, decoded only when looked for */
  private sent: Uint8Array[] = [];
  /** packed: messages go in and come out in runs, as the main thread and the shard's port pack them */
  private readonly inRun: SipRunWriter | undefined;

  /**
   * `make` builds the shard around the sink it is given (what it sends is read back from there).
   * `packed`: each step's messages reach the shard as one packed run and its sends are packed as its
   * port packs them, so the code of the worker channel is run too (the warm-up); otherwise each
   * message is an item of its own (the benches' shard work alone).
   */
  constructor(make: (post: (b: FromShardBatch) => void) => ShardRuntime, onBatch?: (b: FromShardBatch) => void, packed = false) {
    const outRun = packed ? new SipRunWriter() : undefined;
    this.inRun = packed ? new SipRunWriter() : undefined;
    this.rt = make((b) => {
      if (outRun !== undefined) b.out = packSipAfterControl(b.out, shardSendData, shardSendTarget, outRun, []);
      for (const o of b.out) {
        if (o.t === 'sip') this.sent.push(o.d);
        else if (o.t === 'sipb') forEachSip(o, (view) => this.sent.push(view));
      }
      onBatch?.(b);
    });
  }

  /** Hand messages over as the worker channel does: each in an ArrayBuffer of its own, or one packed run. */
  private batch(items: [Buffer, SendTarget][]): void {
    this.sent = [];
    const run = this.inRun;
    if (run === undefined) {
      this.rt.handleBatch(items.map(([d, s]) => ({ t: 'sip', d: new Uint8Array(d), s: { ...s } })));
      return;
    }
    for (const [d, s] of items) run.add(d, { ...s });
    const packed = run.close()!;
    // through the structured clone a MessagePort makes: the batch, the run and its targets then
    // have the object shapes real traffic brings, and code compiled here stays valid for it
    this.rt.handleBatch(structuredClone([packed], { transfer: [packed.b] }));
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

  /**
   * A registration of `user` at 127.0.0.1 as a phone makes it: REGISTER, and when challenged
   * (401), REGISTER again with digest credentials for the first challenge. Throws unless it ends
   * with a 200.
   */
  register(i: number, user: { username: string; password: string }): void {
    this.batch([[registerRequest(i, 1, user.username), CALLER]]);
    let answer = this.response();
    if (answer.startsWith('SIP/2.0 401')) {
      const challenge = firstChallenge(answer);
      if (challenge === undefined) throw createError('SIP_ERR_SHARD', 'a 401 without WWW-Authenticate');
      this.batch([[registerRequest(i, 2, user.username, answerChallenge(challenge, { ...user, method: 'REGISTER', uri: REGISTRAR_URI })), CALLER]]);
      answer = this.response();
    }
    this.sent = [];
    if (!answer.startsWith('SIP/2.0 200')) throw createError('SIP_ERR_SHARD', `registration answered '${answer.slice(0, answer.indexOf('\r'))}'`);
  }

  /** The first response the shard sent in the last step, as text. */
  private response(): string {
    for (const d of this.sent) {
      const b = Buffer.from(d.buffer, d.byteOffset, d.byteLength);
      if (b.toString('latin1', 0, 8) === 'SIP/2.0 ') return b.toString('latin1');
    }
    throw createError('SIP_ERR_SHARD', 'the shard sent no response');
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
