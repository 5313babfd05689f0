// Fixtures for the micro benchmarks of per-message shard work: a server-transaction lookup among
// many live transactions, and one digest check of a REGISTER's Authorization.
import { randomBytes } from 'node:crypto';
import { DigestAuthenticator, type ChallengeAlgorithm } from '../../lib/registrar/authenticator.js';
import { NonceManager } from '../../lib/registrar/nonce.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import type { SipMessage } from '../../lib/sip/message.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { serverKey } from '../../lib/txn/keys.js';

const request = (method: string, branch: string, extra: string[] = []): Buffer => Buffer.from([
  `${method} sip:9000@127.0.0.1:5060 SIP/2.0`,
  `Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-${branch}`,
  'From: sipp <sip:sipp@127.0.0.1:5061>;tag=4821SIPpTag001', 'To: <sip:9000@127.0.0.1:5060>',
  `Call-ID: ${branch}@127.0.0.1`, `CSeq: 1 ${method}`, 'Max-Forwards: 70', ...extra, 'Content-Length: 0', '', '',
].join('\r\n'));

/**
 * What the core does for each request: its server-transaction key from the top Via (RFC 3261
 * 17.2.3) and a lookup among `live` transactions. Each call matches a different live one; the
 * messages are parsed beforehand (parsing is measured on its own).
 */
export function transactionLookup(live = 10_000): () => number {
  const table = new Map<string, number>();
  const msgs: SipMessage[] = [];
  for (let i = 0; i < live; i++) {
    const m = parseMessage(request('INVITE', `${i}-${randomBytes(4).toString('hex')}`)).message;
    table.set(serverKey(m, m.topVia()!), i);
    // a fresh parse per entry: the key is built again from the message, not taken from a cache
    msgs.push(parseMessage(request('INVITE', /branch=z9hG4bK-([^\r]+)/.exec(m.getAll('via')[0]!)![1]!)).message);
  }
  let i = 0;
  return () => {
    const m = msgs[i++ % live]!;
    return table.get(serverKey(m, m.topVia()!)) ?? -1;
  };
}

/**
 * One digest check (registrar or INVITE auth): nonce authenticity and age (HMAC), the user's
 * password, the digest hashes and a constant-time compare. The credentials have no qop: with
 * qop=auth each check also needs a fresh nc (one more Map lookup), which a repeated message lacks.
 */
export function digestCheck(algorithm: ChallengeAlgorithm): () => boolean {
  const nonces = new NonceManager({ secret: randomBytes(32), ttlSeconds: 300, now: Date.now });
  const auth = new DigestAuthenticator({ realm: 'sipshard', algorithms: [algorithm], nonces, passwordOf: (u) => (u === '1001' ? 'secret1001' : undefined) });
  const callId = 'bench-digest@127.0.0.1';
  const challenge = auth.challengeHeaders(false, false, callId)[0]![1].replace(', qop="auth"', '');
  const creds = answerChallenge(challenge, { username: '1001', password: 'secret1001', method: 'REGISTER', uri: 'sip:127.0.0.1' });
  const msg = parseMessage(Buffer.from(request('REGISTER', 'reg', [`Authorization: ${creds}`]).toString('latin1').replace(/^Call-ID: .*$/m, `Call-ID: ${callId}`)
    .replace('REGISTER sip:9000@127.0.0.1:5060', 'REGISTER sip:127.0.0.1'))).message;
  const ok = auth.verify(msg, false);
  if (!ok.ok) throw new Error(`the digest fixture does not verify: ${ok.reason}`);
  return () => auth.verify(msg, false).ok;
}
