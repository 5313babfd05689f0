// Calls made by hand over UDP for tests that need exact control of in-dialog requests (a BYE with
// or without Route, i.e. a UA honouring or ignoring Record-Route): a callee that answers every
// INVITE and BYE 200, and the caller's requests.
import type { UdpPeer } from './child-proxy.js';

export function header(msg: string, name: string): string[] {
  return [...msg.matchAll(new RegExp(`^${name}: (.*)$`, 'gim'))].map((m) => m[1]!.trim());
}

/**
 * The callee answers every INVITE 200 (To tag `callee`, a Contact with no user part: only a dialog
 * can route to it) and every BYE 200, sending to the proxy at `proxyPort`.
 */
export function answerCalls(callee: UdpPeer, proxyPort: number): void {
  callee.sock.on('message', (d: Buffer) => {
    const m = d.toString('latin1');
    const common = (to: string): string[] => [...header(m, 'Via').map((v) => `Via: ${v}`), `From: ${header(m, 'From')[0]}`, `To: ${to}`,
      `Call-ID: ${header(m, 'Call-ID')[0]}`, `CSeq: ${header(m, 'CSeq')[0]}`];
    if (m.startsWith('INVITE ')) {
      const lines = ['SIP/2.0 200 OK', ...common(`${header(m, 'To')[0]};tag=callee`), ...header(m, 'Record-Route').map((v) => `Record-Route: ${v}`),
        `Contact: <sip:127.0.0.1:${callee.port}>`, 'Content-Length: 0', '', ''];
      callee.send(lines.join('\r\n'), proxyPort);
    } else if (m.startsWith('BYE ')) {
      callee.send(['SIP/2.0 200 OK', ...common(header(m, 'To')[0]!), 'Content-Length: 0', '', ''].join('\r\n'), proxyPort);
    }
  });
}

/** A request of the caller's call `callId` (From tag `caller`; To tag `callee` when in-dialog). */
export function callerRequest(caller: UdpPeer, method: string, uri: string, callId: string, cseq: number, toTag: boolean, extra: string[] = []): string {
  return [
    `${method} ${uri} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bK-${method}${cseq}-${callId.replace(/\W/g, '')};rport`,
    'Max-Forwards: 70', `From: <sip:caller@127.0.0.9>;tag=caller`, `To: <sip:9000@127.0.0.1>${toTag ? ';tag=callee' : ''}`,
    `Call-ID: ${callId}`, `CSeq: ${cseq} ${method}`, `Contact: <sip:caller@127.0.0.1:${caller.port}>`, ...extra, 'Content-Length: 0', '', '',
  ].join('\r\n');
}

/** 200 OKs received for `cseq` (e.g. '1 INVITE'). */
export function oks(received: readonly string[], cseq: string): string[] {
  return received.filter((m) => m.startsWith('SIP/2.0 200') && m.includes(`CSeq: ${cseq}`));
}
