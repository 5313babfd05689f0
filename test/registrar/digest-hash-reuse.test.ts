// The digest check reuses H(method:uri) while the same method and URI come in a row and keeps
// H(user:realm:password) per user. Neither may change a verdict: a seeded run of requests that
// switch method, URI, algorithm and header (Authorization / Proxy-Authorization) between neighbours,
// each with an answer that is right or wrong in one way, must get exactly the verdict worked out
// from first principles; and a password changed by a config reload counts from the next REGISTER
// (a change under one authenticator: authenticator.test.ts).
import t from 'tap';
import { DigestAuthenticator } from '../../lib/registrar/authenticator.js';
import { NonceManager } from '../../lib/registrar/nonce.js';
import { answerChallenge, computeResponse, type DigestAlgorithm } from '../../lib/sip/digest.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { testConfig } from '../helpers/proxy-harness.js';
import { ShardHarness } from '../helpers/shard-harness.js';
import { rng } from '../fuzz/lib/mutator.js';

const REALM = 'example.com';
const URIS = ['sip:example.com', 'sip:101@example.com', 'sip:example.com;transport=tcp'];
const METHODS = ['REGISTER', 'INVITE', 'OPTIONS'];
const ALGORITHMS: DigestAlgorithm[] = ['MD5', 'SHA-256'];

function request(method: string, uri: string, callId: string, header: string, credentials: string) {
  const text = [
    `${method} ${uri} SIP/2.0`,
    'Via: SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bK776asdhds',
    'Max-Forwards: 70',
    'To: <sip:alice@example.com>',
    'From: <sip:alice@example.com>;tag=456248',
    `Call-ID: ${callId}`,
    `CSeq: 1 ${method}`,
    `${header}: ${credentials}`,
    'Content-Length: 0', '', '',
  ].join('\r\n');
  return parseMessage(Buffer.from(text, 'latin1')).message;
}

t.test('seeded neighbours differing in method, URI, algorithm or header get first-principles verdicts', async (t) => {
  const SEED = 0x4a2;
  const next = rng(SEED);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  const nonces = new NonceManager({ secret: Buffer.alloc(32, 7), ttlSeconds: 60, now: () => 1_700_000_000_000 });
  const auth = new DigestAuthenticator({ realm: REALM, algorithms: ['SHA-256', 'MD5'], nonces, passwordOf: (u) => (u === 'alice' ? 'secret' : undefined) });
  const mismatches: string[] = [];
  let accepted = 0;
  let method = 'REGISTER';
  let uri = URIS[0]!;
  for (let i = 0; i < 3000; i++) {
    // mostly the same as the request before (the reuse case), sometimes another method or URI
    if (next() < 0.3) method = pick(METHODS);
    if (next() < 0.3) uri = pick(URIS);
    const algorithm = pick(ALGORITHMS);
    const proxy = next() < 0.3;
    const callId = `call-${i}@192.0.2.10`;
    const nonce = nonces.issue(callId);
    // the client hashes this method and URI with this password, and names `fieldUri` as digest-uri
    const fault = pick(['none', 'none', 'none', 'method', 'hashUri', 'fieldUri', 'password'] as const);
    const hashMethod = fault === 'method' ? pick(METHODS.filter((m) => m !== method)) : method;
    const hashUri = fault === 'hashUri' ? pick(URIS.filter((u) => u !== uri)) : uri;
    const fieldUri = fault === 'fieldUri' ? hashUri.toUpperCase() === uri.toUpperCase() ? pick(URIS.filter((u) => u !== uri)) : hashUri : hashUri;
    const password = fault === 'password' ? 'not-it' : 'secret';
    const response = computeResponse({ algorithm, username: 'alice', realm: REALM, password, method: hashMethod, uri: hashUri, nonce, nc: '00000001', cnonce: 'cn', qop: 'auth' });
    const value = `Digest username="alice", realm="${REALM}", nonce="${nonce}", uri="${fieldUri}", response="${response}", algorithm=${algorithm}, qop=auth, nc=00000001, cnonce="cn"`;
    const req = request(method, uri, callId, proxy ? 'Proxy-Authorization' : 'Authorization', value);
    const want = password === 'secret' && hashMethod === method && hashUri === fieldUri && fieldUri.toLowerCase() === uri.toLowerCase();
    const got = auth.verify(req, proxy);
    if (got.ok) accepted++;
    if (got.ok !== want && mismatches.length < 5) mismatches.push(`${i}: ${method} ${uri} ${algorithm} proxy=${proxy} fault=${fault}: got ${JSON.stringify(got)}`);
  }
  t.same(mismatches, [], `every verdict as worked out (seed ${SEED})`);
  t.ok(accepted > 1000 && accepted < 2000, `${accepted} of 3000 accepted: both verdicts exercised`);
});

function register(user: string, cseq: number, callId: string, credentials?: string): string {
  return [
    'REGISTER sip:127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-reload-${callId}-${cseq}`,
    'Max-Forwards: 70',
    `From: <sip:${user}@127.0.0.1>;tag=f${cseq}`,
    `To: <sip:${user}@127.0.0.1>`,
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${user}@192.0.2.10:5070>`,
    ...(credentials === undefined ? [] : [`Authorization: ${credentials}`]),
    'Content-Length: 0',
    '', '',
  ].join('\n');
}

/** REGISTER, 401, REGISTER answered with `password`: the final status. */
function registerWith(h: ShardHarness, user: string, password: string, callId: string): number | undefined {
  h.receive(register(user, 1, callId), { transport: 'udp', address: '192.0.2.10', port: 5070 });
  const challenge = h.take()[0]!.msg.getAll('www-authenticate').find((v) => v.includes('MD5'))!;
  const credentials = answerChallenge(challenge, { username: user, password, method: 'REGISTER', uri: 'sip:127.0.0.1' });
  h.receive(register(user, 2, callId, credentials), { transport: 'udp', address: '192.0.2.10', port: 5070 });
  return h.take()[0]?.msg.status;
}

t.test('a reload that changes a password, or adds a user tried before, counts from the next REGISTER', async (t) => {
  const users = (pw: string, withCarol: boolean) => [
    { username: '100', password: pw },
    ...(withCarol ? [{ username: 'carol-the-late-user', password: 'carol-pw' }] : []),
  ];
  const h = new ShardHarness({ users: users('first-pw', false) });
  t.teardown(() => h.close());
  t.equal(registerWith(h, '100', 'first-pw', 'reload-1'), 200, 'the configured password');
  t.equal(registerWith(h, '100', 'first-pw', 'reload-2'), 200, 'again, from the cached H(A1)');
  // unknown: the decoy's H(A1) is cached under that name
  t.equal(registerWith(h, 'carol-the-late-user', 'carol-pw', 'reload-3'), 401, 'a user not yet configured');

  h.runtime.applyConfig(testConfig({ users: users('second-pw', true) }));
  t.equal(registerWith(h, '100', 'first-pw', 'reload-4'), 401, 'the old password is refused after the reload');
  t.equal(registerWith(h, '100', 'second-pw', 'reload-5'), 200, 'the new one is accepted');
  t.equal(registerWith(h, 'carol-the-late-user', 'carol-pw', 'reload-6'), 200, 'the added user is accepted');
});
