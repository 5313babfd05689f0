// Fixtures for the micro benchmarks of per-message shard work: a server-transaction lookup among
// many live transactions, and one digest check of a REGISTER's Authorization.
import { randomBytes } from 'node:crypto';
import { DigestAuthenticator, type ChallengeAlgorithm } from '../../lib/registrar/authenticator.js';
import { NonceManager } from '../../lib/registrar/nonce.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import type { SipMessage } from '../../lib/sip/message.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { serverKey } from '../../lib/txn/keys.js';

const REQUEST_URI = 'sip:9000@127.0.0.1:5060';

/** A request whose Via branch is `z9hG4bK-<id>` and Call-ID `<id>@127.0.0.1`. */
const request = (method: string, id: string, extra: string[] = []): Buffer => Buffer.from([
  `${method} ${REQUEST_URI} SIP/2.0`,
  `Via: SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-${id}`,
  'From: sipp <sip:sipp@127.0.0.1:5061>;tag=4821SIPpTag001', 'To: <sip:9000@127.0.0.1:5060>',
  `Call-ID: ${id}@127.0.0.1`, `CSeq: 1 ${method}`, 'Max-Forwards: 70', ...extra, 'Content-Length: 0', '', '',
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
    const bytes = request('INVITE', `${i}-${randomBytes(4).toString('hex')}`);
    const m = parseMessage(bytes).message;
    table.set(serverKey(m, m.topVia()!), i);
    // a second parse of the same bytes: the lookup builds its key again, not from a cached Via
    msgs.push(parseMessage(bytes).message);
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
  const id = 'bench-digest';
  const challenge = auth.challengeHeaders(false, false, `${id}@127.0.0.1`)[0]![1].replace(', qop="auth"', '');
  const creds = answerChallenge(challenge, { username: '1001', password: 'secret1001', method: 'REGISTER', uri: REQUEST_URI });
  const msg = parseMessage(request('REGISTER', id, [`Authorization: ${creds}`])).message;
  const ok = auth.verify(msg, false);
  if (!ok.ok) throw new Error(`the digest fixture does not verify: ${ok.reason}`);
  return () => auth.verify(msg, false).ok;
}
