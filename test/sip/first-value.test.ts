// firstValue() and valueCount() answer what getAll(name)[0] and getAll(name).length answer, without
// the array: list headers split on commas outside quotes and <>, empty lines skipped, other headers
// one value per line.
import t, { type Test } from 'tap';
import { parseMessage } from '../../lib/sip/parser.js';
import { SipMessage } from '../../lib/sip/message.js';

const TEXT = [
  'INVITE sip:a@b SIP/2.0',
  'Via: SIP/2.0/UDP h1;branch=z9hG4bK-1, SIP/2.0/UDP h2;branch=z9hG4bK-2',
  'v: SIP/2.0/UDP h3;branch=z9hG4bK-3',
  'Route:',
  'Route:  , <sip:r1;lr> ,<sip:r2;lr>',
  'Contact: "Doe, John" <sip:j@h>, <sip:k@h>',
  'Subject: a, b',
  'Subject: second',
  'Proxy-Require:',
  'X-Empty:',
  'Max-Forwards: 70',
  'Content-Length: 0',
  '', '',
].join('\r\n');

const NAMES = ['via', 'Via', 'v', 'route', 'contact', 'm', 'subject', 'proxy-require', 'x-empty', 'max-forwards', 'supported', 'call-id', 'content-length'];

function check(t: Test, m: SipMessage, what: string): void {
  for (const name of NAMES) {
    const all = m.getAll(name);
    t.equal(m.firstValue(name), all[0], `${what}: firstValue('${name}')`);
    t.equal(m.valueCount(name), all.length, `${what}: valueCount('${name}')`);
  }
}

t.test('the same answers as getAll, however the lines are held', async (t) => {
  const parse = (): SipMessage => parseMessage(Buffer.from(TEXT, 'latin1')).message;
  const received = parse();
  check(t, received, 'received lines');
  t.equal(received.firstValue('via'), 'SIP/2.0/UDP h1;branch=z9hG4bK-1', 'the first value of a two-value line');
  t.equal(received.valueCount('via'), 3, 'values across lines and compact forms');
  t.equal(received.firstValue('route'), '<sip:r1;lr>', 'empty line and empty value skipped');
  t.equal(received.firstValue('contact'), '"Doe, John" <sip:j@h>', 'a quoted comma does not split');
  t.equal(received.firstValue('subject'), 'a, b', 'not a list header: the whole first line');
  t.equal(received.valueCount('subject'), 2);
  t.equal(received.firstValue('x-empty'), '', 'not a list header: an empty value is a value');
  t.equal(received.firstValue('proxy-require'), undefined, 'a list header with an empty line has none');
  t.equal(received.valueCount('proxy-require'), 0);
  t.equal(received.firstValue('supported'), undefined);

  const edited = parse();
  edited.shift('via');
  edited.prepend('Route', '<sip:new;lr>');
  edited.append('Contact', '<sip:last@h>');
  check(t, edited, 'edited lines');
  t.equal(edited.firstValue('via'), 'SIP/2.0/UDP h2;branch=z9hG4bK-2', 'after shift');
  t.equal(edited.firstValue('route'), '<sip:new;lr>', 'after prepend');

  const objects = parse();
  void objects.headers;
  check(t, objects, 'lines as objects');

  const built = SipMessage.request('OPTIONS', 'sip:a@b');
  built.append('Via', 'SIP/2.0/UDP x;branch=z9hG4bK-9');
  built.append('Allow', 'INVITE, ACK');
  check(t, built, 'a message of our own');
  t.equal(built.valueCount('allow'), 2);
});

t.test("valueCount('via') is kept while the lines stay, and follows every edit", async (t) => {
  const m = parseMessage(Buffer.from(TEXT, 'latin1')).message;
  t.equal(m.valueCount('via'), 3, 'counted');
  t.equal(m.valueCount('v'), 3, 'the compact name reads the same count');
  const steps: Array<[string, (m: SipMessage) => unknown, number]> = [
    ['shift', (x) => x.shift('via'), 2],
    ['prepend', (x) => x.prepend('Via', 'SIP/2.0/UDP p;branch=z9hG4bK-p'), 3],
    ['replaceFirstValue', (x) => x.replaceFirstValue('via', 'SIP/2.0/UDP q;branch=z9hG4bK-q, SIP/2.0/UDP r;branch=z9hG4bK-r'), 4],
    ['append', (x) => x.append('Via', 'SIP/2.0/UDP s;branch=z9hG4bK-s'), 5],
    ['set', (x) => x.set('Via', 'SIP/2.0/UDP t;branch=z9hG4bK-t'), 1],
    ['the headers array edited', (x) => x.headers.push({ name: 'via', value: 'SIP/2.0/UDP u;branch=z9hG4bK-u', line: undefined }), 2],
    ['headers replaced', (x) => { x.headers = [{ name: 'via', value: 'a, b, c', line: undefined }]; }, 3],
    ['remove', (x) => x.remove('via'), 0],
  ];
  for (const [what, edit, want] of steps) {
    edit(m);
    t.equal(m.valueCount('via'), want, `after ${what}`);
    t.equal(m.valueCount('via'), m.getAll('via').length, `after ${what}: as getAll`);
  }
  const original = parseMessage(Buffer.from(TEXT, 'latin1')).message;
  t.equal(original.valueCount('via'), 3);
  const copy = original.clone();
  copy.shift('via');
  t.equal(copy.valueCount('via'), 2, 'a clone counts its own lines');
  t.equal(original.valueCount('via'), 3, 'and the original keeps its count');
});
