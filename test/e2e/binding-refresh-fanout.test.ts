// Refreshes that only extend a binding are not broadcast to every shard (lib/registrar/binding-
// fanout.ts): calls on every shard still reach the phone after them, and a removal still reaches
// every shard at once.
import t from 'tap';
import { startTestProxy, testConfig } from '../helpers/proxy-harness.js';
import { sipRequest, udpPeer } from '../helpers/udp-peer.js';

const base = testConfig();
const AOR = '<sip:100@127.0.0.1>';
const CALLS = 8; // Call-IDs spread over both shards

t.test('refreshed with a new Call-ID each time, then removed: every shard follows', async (t) => {
  const proxy = await startTestProxy({ auth: { ...base.auth, register: false, invite: false } });
  t.teardown(() => proxy.close());
  const phone = await udpPeer();
  const caller = await udpPeer();
  t.teardown(() => Promise.all([phone.close(), caller.close()]));
  const register = async (callId: string, expires: number): Promise<void> => {
    phone.send(sipRequest('REGISTER', 'sip:127.0.0.1', phone.port, { callId, from: AOR, to: AOR, extra: [`Expires: ${expires}`] }), proxy.udpPort);
    t.match(await phone.next(new RegExp(`^SIP/2\\.0 200 [^]*Call-ID: ${callId}\\r`)), /^SIP\/2\.0 200 /, `${callId} registered`);
  };

  for (let i = 0; i < 6; i++) await register(`fanout-reg-${i}`, 600 + i);
  for (let i = 0; i < CALLS; i++) caller.send(sipRequest('INVITE', 'sip:100@127.0.0.1', caller.port, { callId: `fanout-call-${i}` }), proxy.udpPort);
  const reached = new Set<string>();
  // the phone does not answer: retransmissions may come in between, each call counts once
  while (reached.size < CALLS) reached.add(/^Call-ID: (\S+)/m.exec(await phone.next(/^INVITE sip:peer@127\.0\.0\.1/))?.[1] ?? '');
  t.equal(reached.size, CALLS, 'every call reached the phone, whichever shard had it');
  const bindings = proxy.location.store.lookup('sip:100@127.0.0.1', Date.now());
  t.equal(bindings.length, 1);
  t.ok(bindings[0]!.expiresAt > Date.now() + 600_000, 'the main thread holds the latest refresh (605 s)');

  await register('fanout-unreg', 0);
  for (let i = 0; i < CALLS; i++) caller.send(sipRequest('INVITE', 'sip:100@127.0.0.1', caller.port, { callId: `fanout-after-${i}` }), proxy.udpPort);
  // no ACK from the caller: the 480 may come again, each call counts once
  const answered = new Map<string, string>();
  while (answered.size < CALLS) {
    const res = await caller.next(/^SIP\/2\.0 [4-6]\d\d [^]*Call-ID: fanout-after-/);
    answered.set(/^Call-ID: (\S+)/m.exec(res)?.[1] ?? '', res.slice(0, 11));
  }
  t.same([...new Set(answered.values())], ['SIP/2.0 480'], 'every call refused with 480 on its shard: no binding left there');
  t.notOk(phone.received.some((m) => m.includes('Call-ID: fanout-after-')), 'no call reached the removed binding');
});
