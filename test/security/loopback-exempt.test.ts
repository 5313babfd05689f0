// Loopback is exempt from the per-source flood limit by default: a load generator on the proxy's own
// host (sipp at thousands of calls per second, all from 127.0.0.1) is served, where it used to be
// banned within its first second under the default config; any other source over the rate still is.
import t from 'tap';
import { parseConfigText } from '../../lib/config/load-config.js';
import { UdpPeer } from '../helpers/child-proxy.js';
import { startTestProxy } from '../helpers/proxy-harness.js';

t.setTimeout(30_000);

function options(pp: number, from: UdpPeer, i: number): string {
  const { address, port } = from.sock.address();
  return [
    `OPTIONS sip:127.0.0.1:${pp} SIP/2.0`, `Via: SIP/2.0/UDP ${address}:${port};branch=z9hG4bK-x${i};rport`,
    'Max-Forwards: 70', `From: <sip:probe@${address}>;tag=p${i}`, `To: <sip:127.0.0.1:${pp}>`,
    `Call-ID: exempt-${i}@${address}`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n');
}

t.test('the default lists 127.0.0.1 and ::1; a list given replaces it', async (t) => {
  t.same(parseConfigText('{}\n', 'empty.yaml').security.exempt, ['127.0.0.1', '::1']);
  t.same(parseConfigText('security: { exempt: [192.0.2.7] }\n', 'own.yaml').security.exempt, ['192.0.2.7']);
});

t.test('on the wire: 127.0.0.1 past ratePerWindow is answered every time, 127.0.0.2 is banned', async (t) => {
  const proxy = await startTestProxy({ security: { ratePerWindow: 20, rateWindowMs: 60_000 } });
  t.teardown(() => proxy.close());
  const pp = proxy.udpPort;
  const local = await UdpPeer.open();
  const other = await UdpPeer.open('127.0.0.2');
  t.teardown(() => { local.close(); other.close(); });
  for (let i = 0; i < 60; i++) {
    local.send(options(pp, local, i), pp);
    other.send(options(pp, other, i), pp);
  }
  await local.until((r) => r.length >= 60);
  t.equal(local.received.filter((m) => m.startsWith('SIP/2.0 200 ')).length, 60, 'all 60 from 127.0.0.1 answered 200');
  t.notOk(proxy.guard.isBanned('127.0.0.1'));
  t.ok(proxy.guard.isBanned('127.0.0.2'), 'the same burst from 127.0.0.2 is over the rate');
  await new Promise((r) => setTimeout(r, 200));
  t.ok(other.received.length <= 20, `127.0.0.2 got at most its 20 (${other.received.length})`);
});
