// A REGISTER without credentials is challenged by the main thread (no shard sees it); the answer
// with credentials goes to a shard, which accepts the main thread's nonce and stores the binding.
// With registrar.statelessChallenge off (a live reload) the shard challenges again.
import t, { type Test } from 'tap';
import { renderMetrics } from '../../admin/metrics.js';
import { buildStats } from '../../admin/stats.js';
import type { ProxyHandle } from '../../lib/server.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { udpPeer, type UdpPeer } from '../helpers/udp-peer.js';

function register(peer: UdpPeer, callId: string, cseq: number, extra: string[] = []): string {
  return [
    'REGISTER sip:127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-${callId}-${cseq};rport`,
    'Max-Forwards: 70',
    'From: <sip:101@127.0.0.1>;tag=reg-from',
    'To: <sip:101@127.0.0.1>',
    `Call-ID: ${callId}`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:101@127.0.0.1:${peer.port}>`,
    'Expires: 600',
    ...extra,
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

/** Requests every shard has received so far. */
async function shardRequests(proxy: ProxyHandle): Promise<number> {
  return (await proxy.shardStats()).reduce((n, r) => n + (r.counters.requestsIn ?? 0), 0);
}

/** Challenge, answer, 200: returns the 401's WWW-Authenticate values. */
async function registerWithDigest(t: Test, proxy: ProxyHandle, peer: UdpPeer, callId: string): Promise<string[]> {
  peer.send(register(peer, callId, 1), proxy.listeners[0]!.port);
  const challenge = await peer.next(new RegExp(`^SIP/2\\.0 401 [^]*Call-ID: ${callId}`));
  t.match(challenge, new RegExp(`^Via: SIP/2\\.0/UDP 127\\.0\\.0\\.1:${peer.port};branch=z9hG4bK-${callId}-1;rport=${peer.port}\\r$`, 'm'), 'Via with rport stamped');
  t.match(challenge, /^To: <sip:101@127\.0\.0\.1>;tag=\S+\r$/m, 'a To tag');
  const offers = [...challenge.matchAll(/^WWW-Authenticate: (.*)\r$/gm)].map((m) => m[1]!);
  const md5 = offers.find((o) => /algorithm=MD5/.test(o))!;
  const authorization = answerChallenge(md5, { username: '101', password: 'demo101pass', method: 'REGISTER', uri: 'sip:127.0.0.1' });
  peer.send(register(peer, callId, 2, [`Authorization: ${authorization}`]), proxy.listeners[0]!.port);
  const ok = await peer.next(new RegExp(`^SIP/2\\.0 200 [^]*Call-ID: ${callId}`));
  t.match(ok, new RegExp(`^Contact: <sip:101@127\\.0\\.0\\.1:${peer.port}>;expires=(600|599)\\r$`, 'm'), 'the 200 lists the binding');
  return offers;
}

t.test('the first REGISTER is challenged on the main thread; the answer registers through a shard', async (t) => {
  const proxy = await startTestProxy();
  // off by default: switched on by a live reload, as an operator would
  await proxy.reload({ ...proxy.config, registrar: { ...proxy.config.registrar, statelessChallenge: true } });
  t.teardown(() => proxy.close());
  const peer = await udpPeer();
  t.teardown(() => peer.close());
  t.equal(proxy.listeners[0]!.transport, 'udp');

  const offers = await registerWithDigest(t, proxy, peer, 'stateless-1');
  t.same(offers.map((o) => /algorithm=([\w-]+)/.exec(o)?.[1]), ['SHA-256', 'MD5'], 'SHA-256 offered first (RFC 8760)');
  t.match(offers[0], /^Digest realm="sipshard", nonce="[A-Za-z0-9_-]{43}", algorithm=SHA-256, qop="auth"$/);
  t.equal(proxy.mainStats.registerChallenged, 1, 'counted on the main thread');
  t.equal(await shardRequests(proxy), 1, 'only the REGISTER with credentials reached a shard');
  const bindings = proxy.location.store.lookup('sip:101@127.0.0.1', Date.now());
  t.equal(bindings.length, 1, 'the binding is stored');
  t.equal(bindings[0]?.contact, `sip:101@127.0.0.1:${peer.port}`);

  const reports = await proxy.shardStats();
  t.match(renderMetrics(proxy, reports, 0), /^sipshard_register_challenged_stateless_total 1$/m, 'exported as a metric');
  t.equal(buildStats(proxy, reports, []).main.registerChallenged, 1, 'and in the stats view');

  // off by a live reload: the shard challenges, the main thread counts nothing more
  await proxy.reload({ ...proxy.config, registrar: { ...proxy.config.registrar, statelessChallenge: false } });
  await registerWithDigest(t, proxy, peer, 'stateful-2');
  t.equal(proxy.mainStats.registerChallenged, 1, 'not counted with the option off');
  t.equal(await shardRequests(proxy), 3, 'both REGISTERs reached a shard');

  // and on again
  await proxy.reload({ ...proxy.config, registrar: { ...proxy.config.registrar, statelessChallenge: true } });
  await registerWithDigest(t, proxy, peer, 'stateless-3');
  t.equal(proxy.mainStats.registerChallenged, 2);
  t.equal(await shardRequests(proxy), 4);
});
