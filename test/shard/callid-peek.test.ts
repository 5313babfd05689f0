import t from 'tap';
import { compileHeaderName, peekCallId, peekHeader, peekIsResponse, peekTopViaBranch } from '../../lib/shard/callid-peek.js';

const msg = (lines: string[], eol = '\r\n', body = ''): Buffer => Buffer.from(lines.join(eol) + eol + eol + body, 'latin1');

const INVITE = [
  'INVITE sip:bob@biloxi.com SIP/2.0',
  'Via: SIP/2.0/UDP pc33.atlanta.com;branch=z9hG4bK776asdhds',
  'Max-Forwards: 70',
  'To: Bob <sip:bob@biloxi.com>',
  'From: Alice <sip:alice@atlanta.com>;tag=1928301774',
  'Call-ID: a84b4c76e66710@pc33.atlanta.com',
  'CSeq: 314159 INVITE',
  'Content-Length: 0',
];

t.test('long form', async (t) => {
  t.equal(peekCallId(msg(INVITE)), 'a84b4c76e66710@pc33.atlanta.com');
});

t.test('compact, lowercase, whitespace before colon, bare LF', async (t) => {
  t.equal(peekCallId(msg(['OPTIONS sip:x SIP/2.0', 'v: SIP/2.0/UDP h', 'i:abc@def'])), 'abc@def');
  t.equal(peekCallId(msg(['OPTIONS sip:x SIP/2.0', 'call-id :  \tlow@case \t'])), 'low@case');
  t.equal(peekCallId(msg(['OPTIONS sip:x SIP/2.0', 'CALL-ID\t: up@case'], '\n')), 'up@case');
  t.equal(peekCallId(msg(['OPTIONS sip:x SIP/2.0', 'I: x'])), 'x');
});

t.test('folded value', async (t) => {
  const buf = msg(['INVITE sip:x SIP/2.0', 'Call-ID: part1', ' \tpart2', '\tpart3', 'CSeq: 1 INVITE']);
  t.equal(peekCallId(buf), 'part1 part2 part3');
});

t.test('missing, or only in the body, or a lookalike name', async (t) => {
  t.equal(peekCallId(msg(['INVITE sip:x SIP/2.0', 'CSeq: 1 INVITE', 'Call-IDx: no', 'ii: no'])), undefined);
  t.equal(peekCallId(msg(['INVITE sip:x SIP/2.0', 'Content-Length: 16'], '\r\n', 'Call-ID: in-body')), undefined);
  t.equal(peekCallId(Buffer.alloc(0)), undefined);
  t.equal(peekCallId(Buffer.from('garbage')), undefined);
  // A start line is never a header even if it looks like one.
  t.equal(peekCallId(msg(['i: start-line', 'CSeq: 1 X'])), undefined);
});

t.test('leading CRLFs and a header without final blank line', async (t) => {
  t.equal(peekCallId(Buffer.from('\r\n\r\nINVITE sip:x SIP/2.0\r\nCall-ID: lead\r\n')), 'lead');
  t.equal(peekCallId(Buffer.from('INVITE sip:x SIP/2.0\r\nCall-ID: noend')), 'noend');
});

t.test('latin1 bytes come back unchanged', async (t) => {
  const buf = Buffer.concat([Buffer.from('INVITE sip:x SIP/2.0\r\nCall-ID: a'), Buffer.from([0xe9, 0xff]), Buffer.from('\r\n\r\n')]);
  t.equal(peekCallId(buf), 'a\u00e9\u00ff');
});

t.test('peekIsResponse', async (t) => {
  t.equal(peekIsResponse(Buffer.from('SIP/2.0 200 OK\r\n\r\n')), true);
  t.equal(peekIsResponse(Buffer.from('\r\nSIP/2.0 180 Ringing\r\n\r\n')), true);
  t.equal(peekIsResponse(msg(INVITE)), false);
  t.equal(peekIsResponse(Buffer.from('SIP')), false);
});

t.test('peekTopViaBranch', async (t) => {
  t.equal(peekTopViaBranch(msg(INVITE)), 'z9hG4bK776asdhds');
  const multi = msg(['SIP/2.0 200 OK', 'v: SIP/2.0/TCP a;received=1.2.3.4 ; BRANCH = z9hG4bKtop;rport, SIP/2.0/UDP b;branch=z9hG4bKsecond', 'Via: SIP/2.0/UDP c;branch=third']);
  t.equal(peekTopViaBranch(multi), 'z9hG4bKtop');
  t.equal(peekTopViaBranch(msg(['SIP/2.0 200 OK', 'Via: SIP/2.0/UDP a, SIP/2.0/UDP b;branch=z9hG4bKb'])), undefined);
  t.equal(peekTopViaBranch(msg(['OPTIONS sip:x SIP/2.0', 'Call-ID: x'])), undefined);
});

t.test('peekHeader with a compiled name', async (t) => {
  const cl = compileHeaderName('Content-Length', 'l');
  t.equal(peekHeader(msg(INVITE), cl), '0');
  t.equal(peekHeader(msg(['SIP/2.0 200 OK', 'l: 12']), cl), '12');
});
