// What the proxy writes about itself (Via sent-by, Record-Route) per transport and address family,
// built once and reused, and how it recognises its own hosts and ports.
import t from 'tap';
import { LocalIdentity } from '../../lib/proxy/local-identity.js';
import { parseUri } from '../../lib/sip/uri.js';

const identity = new LocalIdentity([
  { transport: 'udp', address: '127.0.0.1', port: 5060 },
  { transport: 'tcp', address: '127.0.0.1', port: 5060 },
  { transport: 'tls', address: '127.0.0.1', port: 5061 },
  { transport: 'udp', address: '::1', port: 5062 },
  { transport: 'udp', address: '10.0.0.5', port: 5070, advertise: 'sip.example.com' },
], ['example.com']);

t.test('sent-by, Record-Route and Via prefix per transport and family', async (t) => {
  t.equal(identity.sentBy('udp'), '127.0.0.1:5060');
  t.equal(identity.recordRoute('udp'), '<sip:127.0.0.1:5060;lr>');
  t.equal(identity.viaPrefix('udp'), 'SIP/2.0/UDP 127.0.0.1:5060;branch=');
  t.equal(identity.recordRoute('tcp'), '<sip:127.0.0.1:5060;transport=tcp;lr>');
  t.equal(identity.viaPrefix('tcp'), 'SIP/2.0/TCP 127.0.0.1:5060;branch=');
  t.equal(identity.recordRoute('tls'), '<sips:127.0.0.1:5061;lr>', 'RFC 5630: a TLS leg is recorded as sips');
  t.equal(identity.viaPrefix('tls'), 'SIP/2.0/TLS 127.0.0.1:5061;branch=');
  t.equal(identity.sentBy('udp', 6), '[::1]:5062');
  t.equal(identity.recordRoute('udp', 6), '<sip:[::1]:5062;lr>');
  t.equal(identity.sentBy('tcp', 6), '127.0.0.1:5060', 'no IPv6 listener of that transport: its first one');
  t.equal(identity.sentBy('udp'), identity.sentBy('udp'), 'asked again: the same answer');
});

t.test('our own hosts and ports, bound or advertised', async (t) => {
  t.ok(identity.isSelfSentBy('127.0.0.1', 5060, 'UDP'));
  t.ok(identity.isSelfSentBy('127.0.0.1', undefined, 'UDP'), 'no port: 5060');
  t.ok(identity.isSelfSentBy('127.0.0.1', undefined, 'TLS'), 'no port on TLS: 5061');
  t.notOk(identity.isSelfSentBy('[::1]', undefined, 'UDP'), 'IPv6 host without a port: 5060, not ours there');
  t.ok(identity.isSelfSentBy('127.0.0.1', 5061, 'TLS'));
  t.ok(identity.isSelfSentBy('sip.example.com', 5070, 'UDP'), 'the advertised name');
  t.ok(identity.isSelfSentBy('10.0.0.5', 5070, 'UDP'), 'the bound address');
  t.notOk(identity.isSelfSentBy('10.0.0.5', 5060, 'UDP'), 'another port of that host');
  t.ok(identity.isSelf(parseUri('sip:[::1]:5062;lr')));
  t.ok(identity.isSelf(parseUri('sip:127.0.0.1;lr')), 'default port');
  t.ok(identity.isSelf(parseUri('sips:127.0.0.1;lr')), 'sips: default port 5061');
  t.notOk(identity.isSelf(parseUri('sip:127.0.0.1:5099;lr')));
  t.ok(identity.isSelf(parseUri('sip:example.com')), 'our domain without user or port');
  t.notOk(identity.isSelf(parseUri('sip:bob@example.com')), 'a user in our domain is not us');
  t.notOk(identity.isSelf(parseUri('tel:+123')));
});

t.test('no listener at all: an error each time, nothing cached', async (t) => {
  const none = new LocalIdentity([], []);
  t.throws(() => none.sentBy('udp'));
  t.throws(() => none.viaPrefix('udp'));
});
