// A graceful stop takes the lines' bindings off their providers (REGISTER with Expires: 0) after
// the drain, so a provider stops sending calls to an address that is going away.
import t from 'tap';
import type { LineState } from '../../lib/peers/peer-state.js';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { grantingRegistrar } from '../helpers/udp-peer.js';

t.setTimeout(30_000);

t.test('shutdown sends Expires: 0 for each registered line and reports the provider answer', async (t) => {
  const providers = [await grantingRegistrar(), await grantingRegistrar()];
  t.teardown(() => Promise.all(providers.map((p) => p.close())));
  const proxy = await startTestProxy({
    workers: 2,
    lines: providers.map((p, i) => ({ name: `prov${i}`, registrar: `sip:127.0.0.1:${p.port}`, username: `acct${i}`, password: 'x', expires: 300 })),
  });
  let closed = false;
  t.teardown(() => (closed ? undefined : proxy.close()));
  const first = await Promise.all(providers.map((p) => p.next(/^REGISTER /)));
  for (const r of first) t.match(r, /^Expires: 300\r$/m, 'registered for 300 s');
  for (let i = 0; i < 50 && proxy.peerStates().filter((s) => (s as LineState).state === 'registered').length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  t.equal(proxy.peerStates().filter((s) => (s as LineState).state === 'registered').length, 2, 'both lines registered');

  const left = await proxy.shutdown(2000);
  closed = true;
  t.equal(left, 0, 'nothing pending');
  for (const [i, p] of providers.entries()) {
    const bye = await p.next(/^REGISTER /, 1000);
    t.match(bye, /^Expires: 0\r$/m, `line prov${i}: Expires: 0`);
    const callId = (s: string): string | undefined => /^Call-ID:\s*(\S+)/im.exec(s)?.[1];
    t.equal(callId(bye), callId(first[i]!), 'on the registration\'s Call-ID');
    t.match(bye, /^Contact: <sip:acct\d@127\.0\.0\.1:\d+;line=prov\d>\r$/m, 'for the registered Contact');
  }
});
