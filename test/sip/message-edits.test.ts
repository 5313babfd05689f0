// Edits of a parsed message before anyone asked for its `headers` (the forwarded copy's
// Max-Forwards, Via and Record-Route, a relayed response without our Via) keep the received lines
// by number: the bytes sent must be the same as when every line is an object first.
import t from 'tap';
import { parseMessage } from '../../lib/sip/parser.js';
import type { SipMessage } from '../../lib/sip/message.js';

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
