// A provider's digest side for in-thread tests: our own registrar authenticator (issue 2) checks
// the credentials a line computes, as a real provider would.
import { randomBytes } from 'node:crypto';
import { DigestAuthenticator, type ChallengeAlgorithm } from '../../lib/registrar/authenticator.js';
import { NonceManager } from '../../lib/registrar/nonce.js';
import type { SipMessage } from '../../lib/sip/message.js';

export const PROVIDER = { transport: 'udp' as const, address: '127.0.0.1', port: 5099 };

export function providerAuth(accounts: Record<string, string>, algorithms: ChallengeAlgorithm[] = ['SHA-256', 'MD5'], realm = 'provider.example'): DigestAuthenticator {
  const nonces = new NonceManager({ secret: randomBytes(32), ttlSeconds: 300, now: () => Date.now() });
  return new DigestAuthenticator({ realm, algorithms, nonces, passwordOf: (u) => accounts[u] });
}

/** A response to `req` as the provider sends it (our Via stack copied, and Record-Route on 1xx/2xx). */
export function reply(req: SipMessage, status: number, reason: string, extra: string[] = [], toTag?: string): string {
  const lines = [`SIP/2.0 ${status} ${reason}`];
  for (const v of req.getAll('via')) lines.push(`Via: ${v}`);
  if (status > 100 && status < 300) for (const r of req.getAll('record-route')) lines.push(`Record-Route: ${r}`);
  lines.push(`From: ${req.get('from')}`, `To: ${req.get('to')}${toTag !== undefined ? `;tag=${toTag}` : ''}`, `Call-ID: ${req.callId}`, `CSeq: ${req.get('cseq')}`, ...extra, 'Content-Length: 0', '', '');
  return lines.join('\n');
}
