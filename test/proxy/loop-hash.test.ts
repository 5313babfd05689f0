// Loop detection (RFC 3261 16.3 step 4, 16.6 step 8): the loop hash in our Via branch is computed
// piece by piece over the request's fields; it must equal the hash of the key string it replaced,
// and give the same verdicts: a request that comes back unchanged is a loop (482), one that comes
// back changed (another Request-URI, a Route consumed) is a spiral and goes on.
import t from 'tap';
import { base36, loopHash, loopHashOfBranch } from '../../lib/proxy/branch-id.js';
import { fmix32, fnv1a32, fnv1a32From, FNV1A32_START } from '../../lib/shard/hash.js';
import type { SipMessage } from '../../lib/sip/message.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { viaBranch, parseVia } from '../../lib/sip/via.js';
import { CALLEE, CALLER, invite, ShardHarness } from '../helpers/shard-harness.js';

/** The hash as it was computed before: FNV-1a over one key string. */
function keyStringHash(req: SipMessage): string {
  const key = `${req.uri}|${req.get('from') ?? ''}|${req.callId}|${req.cseq().seq}|${req.getAll('route').join(',')}|${req.getAll('proxy-require').join(',')}`;
  const h = fnv1a32(key);
  return fmix32(h).toString(36) + fmix32(h ^ 0x9e3779b9).toString(36);
}

function request(extra: string[], from = 'From: <sip:caller@127.0.0.9>;tag=ft1', cseq = 'CSeq: 1 INVITE'): SipMessage {
  const text = ['INVITE sip:9000@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1', from,
    'To: <sip:9000@127.0.0.1:5060>', 'Call-ID: lh-1@h', cseq, ...extra, 'Content-Length: 0', '', ''].join('\r\n');
  return parseMessage(Buffer.from(text, 'latin1')).message;
}

t.test('fnv1a32From continues a hash: pieces hash as their concatenation', async (t) => {
  for (const [a, b] of [['', ''], ['a', ''], ['', 'foobar'], ['foo', 'bar'], ['a84b4c76e66710', '@pc33.atlanta.com'], ['caf\u00e9', '\u4e2d']]) {
    t.equal(fnv1a32From(fnv1a32From(FNV1A32_START, a), b), fnv1a32(a + b), `'${a}' + '${b}'`);
  }
});

t.test('base36 writes what toString(36) writes, for every unsigned 32-bit size', async (t) => {
  const edges = [0, 1, 35, 36, 37, 1295, 1296, 1297, 36 ** 3 - 1, 36 ** 3, 36 ** 4, 46655, 2 ** 30 - 1, 2 ** 30, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1];
  for (const n of edges) t.equal(base36(n), n.toString(36), String(n));
  let bad = 0;
  for (let i = 0, n = 12345; i < 200000; i++) {
    n = Math.imul(n, 1103515245) + 12345 >>> 0; // spread over the whole range
    if (base36(n) !== n.toString(36) || base36(i) !== i.toString(36)) bad++;
  }
  t.equal(bad, 0, '200,000 pseudo-random values and the first 200,000 counters');
});

t.test('loopHash equals the hash of the old key string', async (t) => {
  const cases: Array<[string, SipMessage]> = [
    ['no Route, no Proxy-Require', request([])],
    ['one Route', request(['Route: <sip:127.0.0.1:5080;lr>'])],
    ['two Route values on one line', request(['Route: <sip:127.0.0.1:5080;lr>, <sip:p2.example.com;lr>'])],
    ['Route lines, one of them empty', request(['Route: <sip:a;lr>', 'Route:', 'Route:  <sip:b;lr> ,<sip:c;lr>'])],
    ['Proxy-Require over two lines', request(['Proxy-Require: foo, bar', 'Proxy-Require: baz'])],
    ['a quoted comma', request(['Route: "a, b" <sip:a;lr>'])],
    ['no From, CSeq without a number', request([], 'Subject: x', 'CSeq: x INVITE')],
    ['values beyond ASCII', request(['Route: <sip:caf\xe9@h;lr>'], 'From: "J\xe9r\xf4me" <sip:j@h>;tag=9')],
  ];
  for (const [name, req] of cases) {
    t.equal(loopHash(req), keyStringHash(req), `${name}: received lines`);
    const copy = req.clone();
    copy.prepend('Route', '<sip:new.example.com;lr>');
    copy.append('Proxy-Require', 'x');
    copy.uri = 'sip:other@h';
    t.equal(loopHash(copy), keyStringHash(copy), `${name}: edited lines`);
    t.not(loopHash(copy), loopHash(req), `${name}: an edit changes it`);
    void copy.headers;
    t.equal(loopHash(copy), keyStringHash(copy), `${name}: lines as objects`);
  }
});

const ROUTE = { routes: [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] };

/** The forwarded INVITE, sent back to us by the downstream hop after `change`. */
function bounce(h: ShardHarness, fwd: SipMessage, change: (m: SipMessage) => void): { status: number | undefined; forwarded: SipMessage[] } {
  const back = fwd.clone();
  // a branch of its own: the downstream hop's transaction, not a retransmission of another bounce
  back.prepend('Via', `SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-back-${fwd.callId}`);
  back.remove('record-route');
  change(back);
  h.runtime.handleBatch([{ t: 'sip', d: back.toBuffer(), s: CALLEE }]);
  const out = h.take();
  const finals = out.filter((s) => !s.msg.isRequest && s.msg.status >= 200);
  return { status: finals[0]?.msg.status, forwarded: out.filter((s) => s.msg.isRequest).map((s) => s.msg) };
}

function forwardedInvite(h: ShardHarness, callId: string, extra: string[] = [], uri?: string): SipMessage {
  const text = invite({ callId, branch: `z9hG4bK-${callId}`, extra, uri });
  h.receive(text, CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!.msg;
  // our branch carries the loop hash of the request as it came
  const received = parseMessage(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1')).message;
  t.equal(loopHashOfBranch(viaBranch(parseVia(fwd.firstValue('via')!))!), keyStringHash(received), `${callId}: the hash in our branch`);
  return fwd;
}

t.test('verdicts: loops get 482, spirals go on', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());

  let r = bounce(h, forwardedInvite(h, 'lh-loop'), (m) => { m.uri = 'sip:9000@127.0.0.1:5060'; });
  t.equal(r.status, 482, 'same Request-URI back: a loop');
  t.equal(r.forwarded.length, 0);

  r = bounce(h, forwardedInvite(h, 'lh-spiral'), (m) => { m.uri = 'sip:9001@127.0.0.1:5060'; });
  t.equal(r.status, undefined, 'another Request-URI: a spiral, not refused');
  t.equal(r.forwarded.length, 1, 'forwarded again');
  t.equal(r.forwarded[0]?.valueCount('via'), 4, 'with a second Via of ours');

  // a pre-loaded route set (loose routing) towards another domain: the Request-URI is not ours
  const routes = ['Route: <sip:127.0.0.1:5080;lr>, <sip:127.0.0.1:5090;lr>'];
  const uri = 'sip:bob@example.net';
  r = bounce(h, forwardedInvite(h, 'lh-route-loop', routes, uri), () => undefined);
  t.equal(r.status, 482, 'the same Route set back: a loop');

  r = bounce(h, forwardedInvite(h, 'lh-route-spiral', routes, uri), (m) => { m.shift('route'); });
  t.equal(r.status, undefined, 'a Route consumed downstream: a spiral');
  t.equal(r.forwarded[0]?.firstValue('route'), '<sip:127.0.0.1:5090;lr>', 'on to the next Route');
});
