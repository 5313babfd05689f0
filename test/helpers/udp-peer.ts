// A bare UDP SIP endpoint for tests that need one request and its final answer, or to see what
// reaches a callee, without a sipp process.
import { createSocket, type Socket } from 'node:dgram';

export interface UdpPeer {
  port: number;
  socket: Socket;
  /** every message received, as text */
  received: string[];
  send(text: string, port: number): void;
  /** the next received message matching `re` (within timeoutMs) */
  next(re: RegExp, timeoutMs?: number): Promise<string>;
  close(): Promise<void>;
}

export async function udpPeer(): Promise<UdpPeer> {
  const socket = createSocket('udp4');
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', () => r()));
  const received: string[] = [];
  const waiters: Array<{ re: RegExp; done: (m: string) => void }> = [];
  socket.on('message', (m) => {
    const text = m.toString('latin1');
    received.push(text);
    const i = waiters.findIndex((w) => w.re.test(text));
    if (i >= 0) waiters.splice(i, 1)[0]!.done(text);
  });
  return {
    port: socket.address().port,
    socket,
    received,
    send: (text, port) => socket.send(text, port, '127.0.0.1'),
    next: (re, timeoutMs = 5000) => new Promise((resolve, reject) => {
      const seen = received.find((m) => re.test(m));
      if (seen !== undefined) { received.splice(received.indexOf(seen), 1); return resolve(seen); }
      const timer = setTimeout(() => reject(new Error(`nothing matching ${re} within ${timeoutMs} ms`)), timeoutMs);
      waiters.push({ re, done: (m) => { clearTimeout(timer); received.splice(received.indexOf(m), 1); resolve(m); } });
    }),
    close: () => new Promise((r) => socket.close(() => r())),
  };
}

/** A minimal out-of-dialog request from `port` (REGISTER, INVITE, OPTIONS...). */
export function sipRequest(method: string, uri: string, port: number, opts: { callId: string; from?: string; to?: string; extra?: string[] }): string {
  return [
    `${method} ${uri} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-${opts.callId}-${method};rport`,
    'Max-Forwards: 70',
    `From: ${opts.from ?? '<sip:caller@example.net>'};tag=t-${opts.callId}`,
    `To: ${opts.to ?? `<${uri}>`}`,
    `Call-ID: ${opts.callId}`,
    `CSeq: 1 ${method}`,
    `Contact: <sip:peer@127.0.0.1:${port}>`,
    ...(opts.extra ?? []),
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

/** A provider's registrar on loopback that grants every REGISTER (no challenge) for what it asks, 300 s by default. */
export async function grantingRegistrar(): Promise<UdpPeer> {
  const peer = await udpPeer();
  peer.socket.on('message', (m, rinfo) => {
    const req = m.toString('latin1');
    if (!req.startsWith('REGISTER ')) return;
    const h = (name: string): string => new RegExp(`^${name}:[^\\r\\n]*`, 'im').exec(req)?.[0] ?? '';
    const contact = /^Contact:\s*(<[^>]*>)/im.exec(req)?.[1] ?? '';
    const expires = /^Expires:\s*(\d+)/im.exec(req)?.[1] ?? '300';
    const res = ['SIP/2.0 200 OK', h('Via'), h('From'), `${h('To')};tag=prov`, h('Call-ID'), h('CSeq'), `Contact: ${contact};expires=${expires}`, 'Content-Length: 0', '', ''].join('\r\n');
    peer.socket.send(res, rinfo.port, rinfo.address);
  });
  return peer;
}
