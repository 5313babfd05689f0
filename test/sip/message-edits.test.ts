// Edits of a parsed message before anyone asked for its `headers` (the forwarded copy's
// Max-Forwards, Via and Record-Route, a relayed response without our Via) keep the received lines
// by number: the bytes sent must be the same as when every line is an object first.
import t, { type Test } from 'tap';
import { canonicalHeaderName } from '../../lib/sip/header-names.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { SipMessage } from '../../lib/sip/message.js';
import { buildResponse } from '../../lib/sip/response.js';
import { openCorpus } from '../helpers/rfc4475-corpus.js';

const INVITE = [
  'INVITE sip:9000@127.0.0.1:5060 SIP/2.0',
  'Record-Route: <sip:p1.example.com;lr>',
  'Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-a, SIP/2.0/UDP 192.0.2.9;branch=z9hG4bK-b',
  'Via: SIP/2.0/TCP 192.0.2.7;branch=z9hG4bK-c',
  'From: sipp <sip:sipp@192.0.2.1:5070>;tag=1',
  'To: <sip:9000@127.0.0.1:5060>',
  'Call-ID: 1-edits@192.0.2.1',
  'CSeq: 1 INVITE',
  'Route: <sip:127.0.0.1;lr>',
  'Max-Forwards: 70',
  'Max-Forwards: 69',
  'Subject: folded',
  ' continued',
  'Content-Type: application/sdp',
  'Content-Length: 4',
  '',
  'v=0\r\n',
].join('\r\n');

type Edit = (m: SipMessage) => unknown;
const edits: Array<[string, Edit[]]> = [
  ['forwarded copy', [(m) => m.set('Max-Forwards', '69'), (m) => m.prepend('Record-Route', '<sip:127.0.0.1;lr>'), (m) => m.prepend('Via', 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-x')]],
  ['shift a Via from a two-value line, then the next line', [(m) => m.shift('via'), (m) => m.shift('via'), (m) => m.shift('via')]],
  ['shift what is not there', [(m) => m.shift('accept')]],
  ['remove, append, set a new header', [(m) => m.remove('route'), (m) => m.remove('warning'), (m) => m.append('Supported', '100rel'), (m) => m.set('Expires', '60')]],
  ['replace the first Via value; prepend a header that is not there', [(m) => m.replaceFirstValue('via', 'SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-a;received=192.0.2.2'), (m) => m.prepend('Diversion', '<sip:a@b>')]],
];

for (const [name, steps] of edits) {
  t.test(name, async (t) => {
    const lazy = parseMessage(Buffer.from(INVITE, 'latin1')).message;
    const eager = parseMessage(Buffer.from(INVITE, 'latin1')).message;
    void eager.headers; // every line an object from the start
    const results = steps.map((s) => [s(lazy), s(eager)]);
    for (const [a, b] of results) t.equal(a, b, 'same return value');
    t.equal(lazy.toBuffer().toString('latin1'), eager.toBuffer().toString('latin1'), 'same bytes');
    t.same(lazy.headers, eager.headers, 'same lines once asked for');
    t.same(lazy.getAll('via'), eager.getAll('via'));
  });
}

t.test('a clone and its original edit apart', async (t) => {
  const orig = parseMessage(Buffer.from(INVITE, 'latin1')).message;
  orig.set('Max-Forwards', '69');
  const copy = orig.clone();
  copy.prepend('Via', 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-x');
  orig.shift('via');
  t.equal(copy.topVia()?.host, '127.0.0.1');
  t.equal(orig.topVia()?.host, '192.0.2.9');
  t.same(copy.getAll('max-forwards'), ['69']);
  copy.headers[0]!.value = 'changed'; // the copy's own objects: the original keeps its lines
  t.equal(orig.valueAt(0), '<sip:p1.example.com;lr>');
  t.match(orig.toBuffer().toString('latin1'), /^INVITE sip:9000@127\.0\.0\.1:5060 SIP\/2\.0\r\nRecord-Route: <sip:p1\.example\.com;lr>\r\nVia: SIP\/2\.0\/UDP 192\.0\.2\.9;branch=z9hG4bK-b\r\nVia: SIP\/2\.0\/TCP/);
});

// ---- toBuffer writes the bytes the string-building serializer wrote --------------------------

/** The serializer toBuffer replaced: header text built as one string, then written as latin1. */
function reference(m: SipMessage): Buffer {
  let s = m.isRequest ? `${m.method} ${m.uri} SIP/2.0\r\n` : `SIP/2.0 ${m.status} ${m.reason}\r\n`;
  let hasLength = false;
  for (let i = 0; i < m.size; i++) {
    const name = m.nameAt(i);
    if (name === 'content-length') { hasLength = true; s += `Content-Length: ${m.body.length}\r\n`; continue; }
    const line = m.lineAt(i);
    s += line !== undefined ? `${line}\r\n` : `${canonicalHeaderName(name)}: ${m.valueAt(i)}\r\n`;
  }
  if (!hasLength) s += `Content-Length: ${m.body.length}\r\n`;
  return Buffer.concat([Buffer.from(`${s}\r\n`, 'latin1'), m.body]);
}

function sameBytes(t: Test, m: SipMessage, what: string): void {
  const out = m.toBuffer();
  t.equal(out.toString('latin1'), reference(m).toString('latin1'), what);
  t.equal(out.byteLength, out.buffer.byteLength, `${what}: an ArrayBuffer of its own`);
}

const forwardEdits: Edit[] = [(m) => m.set('Max-Forwards', '69'), (m) => m.prepend('Record-Route', '<sip:127.0.0.1;lr>'), (m) => m.prepend('Via', 'SIP/2.0/UDP 127.0.0.1;branch=z9hG4bK-x')];
const responseEdits: Edit[] = [(m) => m.shift('via'), (m) => m.set('CSeq', '7 INVITE')];

t.test('toBuffer: unedited, edited and materialized messages give the old bytes', async (t) => {
  const messages: Array<[string, string]> = [
    ['INVITE with folding and two Max-Forwards', INVITE],
    ['no Content-Length, compact forms', 'OPTIONS sip:a@b SIP/2.0\r\nv: SIP/2.0/UDP h;branch=z9hG4bK-1\r\nf: <sip:x@y>;tag=1\r\nt: <sip:a@b>\r\ni: c1\r\nCSeq: 1 OPTIONS\r\n\r\n'],
    ['two Content-Length lines and a compact one', 'MESSAGE sip:a@b SIP/2.0\r\nContent-Length: 3\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\nl: 3\r\nCSeq: 1 MESSAGE\r\n\r\nabc'],
    ['response with a body and odd spacing', 'SIP/2.0 200 OK fine\r\nVia: SIP/2.0/UDP p;branch=z9hG4bK-p\r\nVia :  SIP/2.0/UDP h;branch=z9hG4bK-1 \r\nTo: <sip:a@b>;tag=9\r\nCSeq: 1 INVITE\r\nContent-Length:   5\r\n\r\nhello'],
    ['header values with bytes above 0x7f', 'INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\nFrom: "J\xe9r\xf4me" <sip:j@b>;tag=1\r\nSubject: \xc3\xa9t\xc3\xa9\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n'],
    ['a message over 8 KB (decoded up to its header end)', `INVITE sip:a@b SIP/2.0\r\nVia: SIP/2.0/UDP h;branch=z9hG4bK-1\r\nCSeq: 1 INVITE\r\nX-Big: ${'y'.repeat(9000)}\r\nContent-Length: 10000\r\n\r\n${'b'.repeat(10000)}`],
  ];
  for (const [name, text] of messages) {
    const parse = (): SipMessage => parseMessage(Buffer.from(text, 'latin1')).message;
    sameBytes(t, parse(), `${name}: unedited`);
    for (const [label, steps] of [['forwarded', forwardEdits], ['relayed', responseEdits], ...edits] as Array<[string, Edit[]]>) {
      const lazy = parse();
      const eager = parse();
      void eager.headers;
      for (const s of steps) { s(lazy); s(eager); }
      sameBytes(t, lazy, `${name}: ${label}, lines by number`);
      sameBytes(t, eager, `${name}: ${label}, lines as objects`);
      t.equal(lazy.toBuffer().toString('latin1'), eager.toBuffer().toString('latin1'), `${name}: ${label}, both ways the same`);
    }
    const bodyChanged = parse();
    bodyChanged.body = Buffer.from('v=1\r\n');
    sameBytes(t, bodyChanged, `${name}: new body, Content-Length rewritten`);
  }
});

t.test('toBuffer: messages of our own and values outside latin1', async (t) => {
  const req = parseMessage(Buffer.from(INVITE, 'latin1')).message;
  sameBytes(t, buildResponse(req, 100), '100 from a parsed request');
  sameBytes(t, buildResponse(req, 180, { toTag: 'abc' }), '180 with our To tag');
  sameBytes(t, buildResponse(req, 407, { toTag: 'abc', headers: [['Proxy-Authenticate', 'Digest realm="r", nonce="n"']] }), '407 with a header of ours');
  const own = SipMessage.request('MESSAGE', 'sip:\u4e2d@example.com');
  own.append('Via', 'SIP/2.0/UDP h;branch=z9hG4bK-1');
  own.append('Subject', 'caf\u00e9 \u4e2d\u6587');
  own.append('x-custom-header', 'v');
  own.append('X-Long', `${'\u4e2d'.repeat(40)}${'a'.repeat(40)}\u00ff`); // long text: written natively, not byte by byte
  own.body = Buffer.from('\u4e2d', 'utf8');
  sameBytes(t, own, 'built from scratch, name spelled, chars above 0xff written as latin1 does');
  const res = SipMessage.response(1000, '');
  sameBytes(t, res, 'odd status, empty reason, no headers');
});

t.test('toBuffer: edited message whose lines come back in another order', async (t) => {
  const m = parseMessage(Buffer.from(INVITE, 'latin1')).message;
  const via = m.shift('via')!;
  m.append('Via', via); // a received line after lines that followed it: its own run
  m.remove('subject');
  sameBytes(t, m, 'runs broken by removed and moved lines');
  const c = m.clone();
  c.set('Max-Forwards', '1');
  sameBytes(t, c, 'a clone edited further');
  sameBytes(t, m, 'its original unchanged');
});

t.test('toBuffer: every RFC 4475 message that parses, unedited and forwarded', async (t) => {
  const corpus = openCorpus(t);
  if (corpus === undefined) return;
  for (const c of corpus.cases) {
    let m: SipMessage;
    try {
      m = parseMessage(corpus.read(c.file)).message;
    } catch {
      continue; // nothing to serialize
    }
    sameBytes(t, m, `${c.file}: unedited`);
    const steps = m.isRequest ? forwardEdits : responseEdits;
    const copy = m.clone();
    for (const s of steps) s(copy);
    sameBytes(t, copy, `${c.file}: edited`);
  }
});
