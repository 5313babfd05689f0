// SipMessage.requestUri(): the Request-URI is parsed once while its text stays, parsed again when
// the core rewrites it (strict routing, a tel: URI turned into sip:), and a forwarded copy starts
// from the same parse without tying the two messages together.
import t from 'tap';
import { parseMessage } from '../../lib/sip/parser.js';
import { parseUri } from '../../lib/sip/uri.js';

const INVITE = Buffer.from([
  'INVITE sip:9000@127.0.0.1:5060;user=phone SIP/2.0',
  'Via: SIP/2.0/UDP 192.0.2.1:5070;branch=z9hG4bK-m1',
  'From: <sip:a@192.0.2.1>;tag=1',
  'To: <sip:9000@127.0.0.1>',
  'Call-ID: memo@192.0.2.1',
  'CSeq: 1 INVITE',
  'Content-Length: 0',
  '', '',
].join('\r\n'), 'latin1');

t.test('parsed once while the text stays; the same answer as parseUri', async (t) => {
  const msg = parseMessage(INVITE).message;
  const a = msg.requestUri();
  t.same(a, parseUri('sip:9000@127.0.0.1:5060;user=phone'));
  t.equal(msg.requestUri(), a, 'the same object the second time');
});

t.test('a rewritten Request-URI is parsed anew', async (t) => {
  const msg = parseMessage(INVITE).message;
  const before = msg.requestUri();
  msg.uri = 'tel:+15551234';
  const after = msg.requestUri();
  t.not(after, before);
  t.equal(after.scheme, 'tel');
  t.equal(after.user, '+15551234');
  msg.uri = 'sip:9000@127.0.0.1:5060;user=phone'; // the old text again, as a new string
  t.same(msg.requestUri(), before);
});

t.test('a clone shares the parse until either side changes its URI', async (t) => {
  const msg = parseMessage(INVITE).message;
  const parsed = msg.requestUri();
  const copy = msg.clone();
  t.equal(copy.requestUri(), parsed, 'no second parse for the forwarded copy');
  copy.uri = 'sip:next@192.0.2.50';
  t.equal(copy.requestUri().host, '192.0.2.50');
  t.equal(msg.requestUri(), parsed, 'the original keeps its own');
  t.equal(msg.requestUri().host, '127.0.0.1');
});

t.test('a malformed Request-URI throws each time it is asked for', async (t) => {
  const msg = parseMessage(INVITE).message;
  msg.uri = 'sip:bad host@';
  t.throws(() => msg.requestUri(), { code: 'SIP_ERR_BAD_URI' });
  t.throws(() => msg.requestUri(), { code: 'SIP_ERR_BAD_URI' });
});
