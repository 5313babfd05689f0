// Digest hardening below the wire: nonces bound to their Call-ID (so the per-shard nc counter is
// enough), a replacement shard refusing older nonces, the digest-uri bound to the Request-URI.
import t from 'tap';
import { DigestAuthenticator } from '../../lib/registrar/authenticator.js';
import { NonceManager } from '../../lib/registrar/nonce.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import { parseMessage } from '../../lib/sip/parser.js';

const secret = Buffer.alloc(32, 3);
const clock = { ms: 1_700_000_000_000 };
const manager = (notBefore?: number): NonceManager => new NonceManager({ secret, ttlSeconds: 60, now: () => clock.ms, notBefore });
const authOn = (nonces: NonceManager): DigestAuthenticator =>
  new DigestAuthenticator({ realm: 'r', algorithms: ['SHA-256'], nonces, passwordOf: (u) => (u === 'alice' ? 'secret' : undefined) });

function register(callId: string, auth: string, uri = 'sip:example.com'): ReturnType<typeof parseMessage>['message'] {
  return parseMessage(Buffer.from([
    `REGISTER ${uri} SIP/2.0`, 'Via: SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK1', 'Max-Forwards: 70', 'To: <sip:alice@example.com>',
    'From: <sip:alice@example.com>;tag=1', `Call-ID: ${callId}`, 'CSeq: 1 REGISTER', `Authorization: ${auth}`, 'Content-Length: 0', '', ''].join('\r\n'))).message;
}

t.test('a nonce is only good for the Call-ID it was issued for', async (t) => {
  const shardA = manager();
  const n = shardA.issue('call-1');
  t.equal(shardA.check(n, 'call-1'), 'valid');
  t.equal(manager().check(n, 'call-1'), 'valid', 'on any shard with the secret');
  t.equal(manager().check(n, 'call-2'), 'invalid', 'not under another Call-ID');
});

t.test('a captured Authorization replayed under another Call-ID is refused on every shard', async (t) => {
  const issuer = authOn(manager());
  const challenge = issuer.challengeHeaders(false, false, 'call-1')[0]![1];
  const creds = answerChallenge(challenge, { username: 'alice', password: 'secret', method: 'REGISTER', uri: 'sip:example.com' });
  t.ok(issuer.verify(register('call-1', creds), false).ok, 'the original request passes');
  t.same(issuer.verify(register('call-1', creds), false), { ok: false, reason: 'stale' }, 'the same nc again: replay');
  const otherShard = authOn(manager()); // its nc counters never saw this nonce
  t.same(otherShard.verify(register('call-2', creds), false), { ok: false, reason: 'stale' }, 'under another Call-ID: stale, never ok');
});

t.test('a replacement shard treats nonces from before its start as stale', async (t) => {
  const before = authOn(manager());
  const challenge = before.challengeHeaders(false, false, 'c')[0]![1];
  const creds = answerChallenge(challenge, { username: 'alice', password: 'secret', method: 'REGISTER', uri: 'sip:example.com' });
  t.ok(before.verify(register('c', creds), false).ok);
  const replacement = authOn(manager(clock.ms + 1));
  t.same(replacement.verify(register('c', creds), false), { ok: false, reason: 'stale' }, 'its nc history is gone: ask for a fresh nonce');
});

t.test('the digest-uri must be the Request-URI', async (t) => {
  const auth = authOn(manager());
  const challenge = auth.challengeHeaders(false, false, 'c')[0]![1];
  const creds = answerChallenge(challenge, { username: 'alice', password: 'secret', method: 'REGISTER', uri: 'sip:elsewhere.example' });
  t.same(auth.verify(register('c', creds), false), { ok: false, reason: 'failed' });
  const right = answerChallenge(challenge, { username: 'alice', password: 'secret', method: 'REGISTER', uri: 'sip:EXAMPLE.com' });
  t.ok(auth.verify(register('c', right, 'sip:example.com'), false).ok, 'case of the host does not matter');
});
