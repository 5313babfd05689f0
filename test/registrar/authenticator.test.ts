import t from 'tap';
import { DigestAuthenticator, type ChallengeAlgorithm } from '../../lib/registrar/authenticator.js';
import { NonceManager } from '../../lib/registrar/nonce.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import { parseMessage } from '../../lib/sip/parser.js';

const REALM = 'example.com';
const URI = 'sip:example.com';
const CALL_ID = '843817637684230@998sdasdh09';

function setup(algorithms: ChallengeAlgorithm[] = ['SHA-256', 'MD5']) {
  const clock = { ms: 1_700_000_000_000 };
  const nonces = new NonceManager({ secret: Buffer.alloc(32, 1), ttlSeconds: 60, now: () => clock.ms });
  const passwords = new Map([['alice', 'secret'], ['bob', 'hunter2']]);
  const auth = new DigestAuthenticator({ realm: REALM, algorithms, nonces, passwordOf: (u) => passwords.get(u) });
  return { clock, auth, passwords };
}

function register(authHeaders: string[], headerName = 'Authorization', callId = CALL_ID, uri = URI) {
  const text = [
    `REGISTER ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    'To: <sip:alice@example.com>',
    'From: <sip:alice@example.com>;tag=456248',
    `Call-ID: ${callId}`,
    'CSeq: 1826 REGISTER',
    'Contact: <sip:alice@192.0.2.10>',
    ...authHeaders.map((v) => `${headerName}: ${v}`),
    'Content-Length: 0', '', '',
  ].join('\r\n');
  return parseMessage(Buffer.from(text, 'latin1')).message;
}

function challengeFor(auth: DigestAuthenticator, algorithm: string): string {
  const found = auth.challengeHeaders(false, false, CALL_ID).find(([, v]) => v.includes(`algorithm=${algorithm}`));
  if (found === undefined) throw new Error(`no ${algorithm} challenge`);
  return found[1];
}

const alice = { username: 'alice', password: 'secret', method: 'REGISTER', uri: URI };

t.test('challenges: SHA-256 offered before MD5, one header each, stale flag on request', async (t) => {
  const { auth } = setup();
  const h = auth.challengeHeaders(false);
  t.equal(h.length, 2);
  t.equal(h[0]![0], 'WWW-Authenticate');
  t.match(h[0]![1], /^Digest realm="example\.com", nonce="[A-Za-z0-9_-]{43}", algorithm=SHA-256, qop="auth"$/);
  t.match(h[1]![1], /algorithm=MD5, qop="auth"$/);
  const p = auth.challengeHeaders(true, true);
  t.equal(p[0]![0], 'Proxy-Authenticate');
  t.match(p[0]![1], /, stale=true$/);
});

t.test('a client answering either challenge is accepted', async (t) => {
  for (const alg of ['SHA-256', 'MD5']) {
    const { auth } = setup();
    const res = auth.verify(register([answerChallenge(challengeFor(auth, alg), alice)]), false);
    t.same(res, { ok: true, username: 'alice' }, alg);
  }
});

t.test('no credentials, or none for our realm or our algorithms: missing', async (t) => {
  const { auth } = setup();
  t.same(auth.verify(register([]), false), { ok: false, reason: 'missing' });
  const foreign = challengeFor(auth, 'SHA-256').replace('realm="example.com"', 'realm="other.net"');
  t.same(auth.verify(register([answerChallenge(foreign, alice)]), false), { ok: false, reason: 'missing' }, 'wrong realm');
  const md5Only = setup(['MD5']).auth;
  t.same(md5Only.verify(register([answerChallenge(challengeFor(auth, 'SHA-256'), alice)]), false), { ok: false, reason: 'missing' }, 'algorithm not offered');
  t.same(auth.verify(register(['Basic YWxpY2U6c2VjcmV0']), false), { ok: false, reason: 'missing' });
});

t.test('of several credentials the one for our realm is used', async (t) => {
  const { auth } = setup();
  const foreign = answerChallenge('Digest realm="other.net", nonce="abc", qop="auth"', { ...alice, password: 'x' });
  const ours = answerChallenge(challengeFor(auth, 'SHA-256'), alice);
  t.same(auth.verify(register([foreign, ours]), false), { ok: true, username: 'alice' });
});

t.test('wrong password and unknown user are indistinguishable', async (t) => {
  const { auth } = setup();
  const wrong = auth.verify(register([answerChallenge(challengeFor(auth, 'SHA-256'), { ...alice, password: 'nope' })]), false);
  const unknown = auth.verify(register([answerChallenge(challengeFor(auth, 'SHA-256'), { ...alice, username: 'mallory' })]), false);
  t.same(wrong, { ok: false, reason: 'failed' });
  t.same(unknown, wrong);
});

t.test('nonce lifetime: a right answer on an expired nonce is stale, a wrong one failed', async (t) => {
  const { clock, auth } = setup();
  const challenge = challengeFor(auth, 'SHA-256');
  clock.ms += 61_000;
  t.same(auth.verify(register([answerChallenge(challenge, alice)]), false), { ok: false, reason: 'stale' });
  t.same(auth.verify(register([answerChallenge(challenge, { ...alice, password: 'nope' })]), false), { ok: false, reason: 'failed' });
  const forged = challenge.replace(/nonce="[^"]+"/, 'nonce="not-one-of-ours"');
  t.same(auth.verify(register([answerChallenge(forged, alice)]), false), { ok: false, reason: 'stale' }, 'right password, unknown nonce: just a new nonce');
});

t.test('nc replay is refused, a higher nc accepted', async (t) => {
  const { auth } = setup();
  const challenge = challengeFor(auth, 'MD5');
  const first = answerChallenge(challenge, { ...alice, cnonce: 'c1' });
  t.ok(auth.verify(register([first]), false).ok);
  t.same(auth.verify(register([first]), false), { ok: false, reason: 'stale' });
  t.ok(auth.verify(register([answerChallenge(challenge, { ...alice, cnonce: 'c1', nc: 2 })]), false).ok);
});

t.test('missing algorithm means MD5; RFC 2069 answers (no qop) and upper-case hex accepted', async (t) => {
  const { auth } = setup();
  const noAlg = answerChallenge(challengeFor(auth, 'MD5'), alice).replace(', algorithm=MD5', '');
  t.ok(auth.verify(register([noAlg]), false).ok);
  const noQop = answerChallenge(challengeFor(auth, 'SHA-256').replace(', qop="auth"', ''), alice);
  t.notMatch(noQop, /qop/);
  t.ok(auth.verify(register([noQop]), false).ok);
  const upper = answerChallenge(challengeFor(auth, 'SHA-256'), alice).replace(/response="([0-9a-f]+)"/, (_m, h: string) => `response="${h.toUpperCase()}"`);
  t.ok(auth.verify(register([upper]), false).ok);
});

t.test('malformed credentials fail', async (t) => {
  const { auth } = setup();
  const good = answerChallenge(challengeFor(auth, 'SHA-256'), alice);
  t.same(auth.verify(register([good.replace(/, uri="[^"]*"/, '')]), false), { ok: false, reason: 'failed' }, 'no uri');
  t.same(auth.verify(register([good.replace('qop=auth', 'qop=auth-int')]), false), { ok: false, reason: 'failed' });
  t.same(auth.verify(register([good.replace(/nc=\w+/, 'nc=1')]), false), { ok: false, reason: 'failed' });
  t.same(auth.verify(register([good.replace(/response="[^"]*"/, 'response="zz"')]), false), { ok: false, reason: 'failed' });
});

t.test('proxy authentication reads Proxy-Authorization only', async (t) => {
  const { auth } = setup();
  const value = answerChallenge(challengeFor(auth, 'SHA-256'), alice);
  t.ok(auth.verify(register([value], 'Proxy-Authorization'), true).ok);
  t.same(auth.verify(register([value]), true), { ok: false, reason: 'missing' });
});

t.test('a changed password counts from the next request on (H(user:realm:password) is not kept past it)', async (t) => {
  for (const alg of ['SHA-256', 'MD5']) {
    const { auth, passwords } = setup();
    t.same(auth.verify(register([answerChallenge(challengeFor(auth, alg), { ...alice, cnonce: 'c1' })]), false), { ok: true, username: 'alice' }, alg);
    passwords.set('alice', 'changed');
    t.same(auth.verify(register([answerChallenge(challengeFor(auth, alg), { ...alice, cnonce: 'c2' })]), false), { ok: false, reason: 'failed' }, `${alg}: old password refused`);
    t.same(auth.verify(register([answerChallenge(challengeFor(auth, alg), { ...alice, password: 'changed', cnonce: 'c3' })]), false), { ok: true, username: 'alice' }, `${alg}: new one accepted`);
    passwords.set('carol', 'pw3');
    t.same(auth.verify(register([answerChallenge(challengeFor(auth, alg), { ...alice, username: 'carol', password: 'pw3' })]), false), { ok: true, username: 'carol' }, `${alg}: a user added later`);
  }
});

t.test('response hex is compared case-insensitively, and not by prefix', async (t) => {
  const { auth } = setup(['MD5']);
  const good = answerChallenge(challengeFor(auth, 'MD5'), { ...alice, cnonce: 'u1' });
  const upper = good.replace(/response="([0-9a-f]+)"/, (_, h: string) => `response="${h.toUpperCase()}"`);
  t.same(auth.verify(register([upper]), false), { ok: true, username: 'alice' });
  const short = answerChallenge(challengeFor(auth, 'MD5'), { ...alice, cnonce: 'u2' }).replace(/response="([0-9a-f]+)[0-9a-f]"/, 'response="$1"');
  t.same(auth.verify(register([short]), false), { ok: false, reason: 'failed' });
  const flipped = answerChallenge(challengeFor(auth, 'MD5'), { ...alice, cnonce: 'u3' }).replace(/response="([0-9a-f])/, (_, c: string) => `response="${c === '0' ? '1' : '0'}`);
  t.same(auth.verify(register([flipped]), false), { ok: false, reason: 'failed' });
});
