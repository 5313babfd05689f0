// The exact bytes a shard sends in one REGISTER exchange: the 401 (both challenges), the 200 with
// the binding and Date, a second contact's 200, and the stale 401 a replayed nc earns. Pinned so
// that work on the registrar's hot path (credential parsing, hash caches, detached copies) cannot
// change the wire. Only the two random parts are replaced before comparing: the nonce (salted) and
// the shard's To-tag prefix; both are checked for their form first.
import t, { type Test } from 'tap';
import { answerChallenge } from '../../lib/sip/digest.js';
import { ShardHarness } from '../helpers/shard-harness.js';

const T0 = Date.UTC(2026, 0, 2, 3, 4, 5, 250);
// behind a NAT: the Via names a private address, the datagram comes from the public one
const PHONE = { transport: 'udp' as const, address: '192.0.2.10', port: 40000 };
const NONCE_RE = /nonce="([A-Za-z0-9_-]{43})"/g;
const TAG_RE = /;tag=([0-9a-f]{8})([0-9a-z]+)\r\n/;

function register(cseq: number, contact: string, extra: string[] = []): string {
  return [
    'REGISTER sip:127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-pin-${cseq};rport`,
    'Max-Forwards: 70',
    'From: "Alice" <sip:100@127.0.0.1>;tag=pin-from',
    'To: <sip:100@127.0.0.1>',
    'Call-ID: pinned-register-call@192.0.2.10',
    `CSeq: ${cseq} REGISTER`,
    `Contact: ${contact}`,
    ...extra,
    'Expires: 3600',
    'User-Agent: pin-phone/1.0',
    'Content-Length: 0',
    '', '',
  ].join('\n');
}

/** The wire text with the nonce and the To-tag prefix replaced by fixed names (after checking their form). */
function normalise(t: Test, raw: string): string {
  const tag = TAG_RE.exec(raw);
  t.ok(tag, 'To-tag: the shard prefix (8 hex digits) and a counter');
  let out = tag === null ? raw : raw.replace(`;tag=${tag[1]}${tag[2]}\r\n`, `;tag=TAG-${tag[2]}\r\n`);
  const nonces = new Set([...raw.matchAll(NONCE_RE)].map((m) => m[1]));
  t.ok(nonces.size <= 1, 'the challenges of one 401 share their nonce');
  for (const n of nonces) out = out.split(n!).join('NONCE');
  return out;
}

function crlf(lines: string[]): string {
  return `${lines.join('\r\n')}\r\n\r\n`;
}

t.test('the 401 and 200 of a digest REGISTER, byte for byte', async (t) => {
  const h = new ShardHarness({ users: [{ username: '100', password: 'demo100pass' }] });
  t.teardown(() => h.close());
  h.clock.t = T0;

  h.receive(register(1, '<sip:100@192.0.2.10:5070;transport=udp>'), PHONE);
  const [c401] = h.take();
  t.same(c401?.to, PHONE, 'the 401 goes back to the phone');
  t.equal(normalise(t, c401!.raw), crlf([
    'SIP/2.0 401 Unauthorized',
    'Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-pin-1;rport=40000;received=192.0.2.10',
    'From: "Alice" <sip:100@127.0.0.1>;tag=pin-from',
    'To: <sip:100@127.0.0.1>;tag=TAG-0',
    'Call-ID: pinned-register-call@192.0.2.10',
    'CSeq: 1 REGISTER',
    'WWW-Authenticate: Digest realm="sipshard", nonce="NONCE", algorithm=SHA-256, qop="auth"',
    'WWW-Authenticate: Digest realm="sipshard", nonce="NONCE", algorithm=MD5, qop="auth"',
    'Content-Length: 0',
  ]), '401 bytes');

  const md5 = c401!.msg.getAll('www-authenticate').find((v) => v.includes('MD5'))!;
  const creds = { username: '100', password: 'demo100pass', method: 'REGISTER', uri: 'sip:127.0.0.1', cnonce: 'pinned-cnonce' };
  h.clock.t += 40;
  h.receive(register(2, '<sip:100@192.0.2.10:5070;transport=udp>', [`Authorization: ${answerChallenge(md5, creds)}`]), PHONE);
  const [ok] = h.take();
  t.equal(normalise(t, ok!.raw), crlf([
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-pin-2;rport=40000;received=192.0.2.10',
    'From: "Alice" <sip:100@127.0.0.1>;tag=pin-from',
    'To: <sip:100@127.0.0.1>;tag=TAG-1',
    'Call-ID: pinned-register-call@192.0.2.10',
    'CSeq: 2 REGISTER',
    'Contact: <sip:100@192.0.2.10:5070;transport=udp>;expires=3600',
    'Date: Fri, 02 Jan 2026 03:04:05 GMT',
    'Content-Length: 0',
  ]), '200 bytes');

  // 1.5 s later, the same nonce with the next nc: a second contact with q, the first one's time counting down
  h.clock.t += 1500;
  const second = '<sip:100@198.51.100.4:5062>;q=0.5;expires=600';
  h.receive(register(3, second, [`Authorization: ${answerChallenge(md5, { ...creds, nc: 2 })}`]), PHONE);
  const [ok2] = h.take();
  t.equal(normalise(t, ok2!.raw), crlf([
    'SIP/2.0 200 OK',
    'Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-pin-3;rport=40000;received=192.0.2.10',
    'From: "Alice" <sip:100@127.0.0.1>;tag=pin-from',
    'To: <sip:100@127.0.0.1>;tag=TAG-2',
    'Call-ID: pinned-register-call@192.0.2.10',
    'CSeq: 3 REGISTER',
    'Contact: <sip:100@192.0.2.10:5070;transport=udp>;expires=3599',
    'Contact: <sip:100@198.51.100.4:5062>;expires=600;q=0.5',
    'Date: Fri, 02 Jan 2026 03:04:06 GMT',
    'Content-Length: 0',
  ]), 'second 200 bytes');

  // the same nc again: a replay, answered with a fresh nonce and stale=true
  h.receive(register(4, second, [`Authorization: ${answerChallenge(md5, { ...creds, nc: 2 })}`]), PHONE);
  const [stale] = h.take();
  t.equal(normalise(t, stale!.raw), crlf([
    'SIP/2.0 401 Unauthorized',
    'Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-pin-4;rport=40000;received=192.0.2.10',
    'From: "Alice" <sip:100@127.0.0.1>;tag=pin-from',
    'To: <sip:100@127.0.0.1>;tag=TAG-3',
    'Call-ID: pinned-register-call@192.0.2.10',
    'CSeq: 4 REGISTER',
    'WWW-Authenticate: Digest realm="sipshard", nonce="NONCE", algorithm=SHA-256, qop="auth", stale=true',
    'WWW-Authenticate: Digest realm="sipshard", nonce="NONCE", algorithm=MD5, qop="auth", stale=true',
    'Content-Length: 0',
  ]), 'stale 401 bytes');
  t.not(/nonce="([^"]+)"/.exec(stale!.raw)?.[1], /nonce="([^"]+)"/.exec(c401!.raw)?.[1], 'the stale 401 carries a new nonce');
});
