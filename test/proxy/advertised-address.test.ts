// A listener bound to a wildcard address, or behind NAT, writes a reachable host in Via and
// Record-Route, and recognises both that host and the bound one as itself.
import t from 'tap';
import { LocalIdentity } from '../../lib/proxy/local-identity.js';
import { parseUri } from '../../lib/sip/uri.js';
import { advertisedHost } from '../../lib/transport/advertise.js';

t.test('advertise replaces the bound address in Via and Record-Route', async (t) => {
  const id = new LocalIdentity([{ transport: 'udp', address: '0.0.0.0', port: 5060, advertise: '203.0.113.5' }], ['example.net']);
  t.equal(id.sentBy('udp'), '203.0.113.5:5060');
  t.equal(id.recordRoute('udp'), '<sip:203.0.113.5:5060;lr>');
  t.ok(id.isSelf(parseUri('sip:203.0.113.5:5060;lr')), 'our advertised Record-Route is ours');
  t.ok(id.isSelfSentBy('203.0.113.5', 5060, 'UDP'));
});

t.test('a wildcard bind without advertise never writes 0.0.0.0', async (t) => {
  const host = advertisedHost('0.0.0.0', '');
  t.not(host, '0.0.0.0');
  t.match(host, /^\d+\.\d+\.\d+\.\d+$/);
  const id = new LocalIdentity([{ transport: 'tcp', address: '0.0.0.0', port: 5070 }], []);
  t.equal(id.sentBy('tcp'), `${host}:5070`);
  t.equal(advertisedHost('127.0.0.1', ''), '127.0.0.1', 'a specific bind address is written as is');
});
