// What the main thread lets through while shedding: a request whose credentials carry a nonce we
// issued for its own Call-ID, still fresh. Anything else (no credentials, a forged or foreign
// nonce, another Call-ID's, a stale one, a cnonce alone) is new work and may be refused.
import t from 'tap';
import { ChallengeAnswerCheck } from '../../lib/registrar/challenge-answer.js';
import { NonceManager } from '../../lib/registrar/nonce.js';

const secret = Buffer.alloc(32, 7);

function setup() {
  const clock = { ms: 1_700_000_000_000 };
  const shard = new NonceManager({ secret, ttlSeconds: 30, now: () => clock.ms });
  const check = new ChallengeAnswerCheck(secret, 30, () => clock.ms);
  return { clock, shard, check };
}

function request(method: string, callId: string, credentials?: string): Buffer {
  return Buffer.from([
    `${method} sip:127.0.0.1 SIP/2.0`,
    'Via: SIP/2.0/UDP 127.0.0.1:5062;branch=z9hG4bK-1',
    'From: <sip:101@127.0.0.1>;tag=a',
    'To: <sip:101@127.0.0.1>',
    `Call-ID: ${callId}`,
    `CSeq: 2 ${method}`,
    ...(credentials === undefined ? [] : [credentials]),
    'Content-Length: 0', '', '',
  ].join('\r\n'), 'latin1');
}

const digest = (nonce: string, extra = ''): string =>
  `Digest username="101", realm="sipshard", ${extra}nonce="${nonce}", uri="sip:127.0.0.1", response="00112233445566778899aabbccddeeff", algorithm=MD5`;

t.test('an answer to our challenge, for its own Call-ID: let through', async (t) => {
  const { shard, check } = setup();
  t.ok(check.answersOurChallenge(request('REGISTER', 'reg-1', `Authorization: ${digest(shard.issue('reg-1'))}`)));
  t.ok(check.answersOurChallenge(request('INVITE', 'inv-1', `Proxy-Authorization: ${digest(shard.issue('inv-1'))}`)), "an INVITE answering our 407");
  t.ok(check.answersOurChallenge(request('REGISTER', 'reg-2', `authorization:${digest(shard.issue('reg-2'), 'cnonce="x", nc=00000001, qop=auth, ')}`)),
    'header name in any case, cnonce before nonce');
});

t.test('anything else is new work', async (t) => {
  const { clock, shard, check } = setup();
  t.notOk(check.answersOurChallenge(request('REGISTER', 'reg-1')), 'no credentials');
  t.notOk(check.answersOurChallenge(request('REGISTER', 'reg-1', `Authorization: ${digest(shard.issue('other-call'))}`)), "another Call-ID's nonce");
  const foreign = new NonceManager({ secret: Buffer.alloc(32, 8), ttlSeconds: 30, now: () => clock.ms });
  t.notOk(check.answersOurChallenge(request('REGISTER', 'reg-1', `Authorization: ${digest(foreign.issue('reg-1'))}`)), 'a nonce made with another secret');
  t.notOk(check.answersOurChallenge(request('REGISTER', 'reg-1', `Authorization: ${digest('A'.repeat(43))}`)), 'a made-up nonce of the right shape');
  t.notOk(check.answersOurChallenge(request('REGISTER', 'reg-1', `Authorization: Digest username="101", cnonce="${shard.issue('reg-1')}"`)),
    'our nonce only as a cnonce');
  const old = shard.issue('reg-1');
  clock.ms += 30_001;
  t.notOk(check.answersOurChallenge(request('REGISTER', 'reg-1', `Authorization: ${digest(old)}`)), 'a stale nonce (the shard would ask again)');
});
