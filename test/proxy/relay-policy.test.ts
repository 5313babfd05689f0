// The relay policy, in-thread: calls to our users are open to anyone; static routes, trunks,
// lines and foreign hosts only for trusted sources (trusted networks, trunk addresses) or callers
// authenticated as one of our users (407), else 403. Every test configures
// security.trustedNetworks itself, so none depends on the default (loopback).
import t from 'tap';
import { answerChallenge } from '../../lib/sip/digest.js';
import type { SendTarget } from '../../lib/transport/types.js';
import { testConfig } from '../helpers/proxy-harness.js';
import { ShardHarness, type Sent } from '../helpers/shard-harness.js';

const ROUTE_PEER = { transport: 'udp' as const, address: '127.0.0.1', port: 5080 };
const ROUTES = [{ prefix: '9', destination: `sip:${ROUTE_PEER.address}:${ROUTE_PEER.port}`, strip: 0, prepend: '' }];
const UNTRUSTED: SendTarget = { transport: 'udp', address: '198.51.100.7', port: 5070 };
const TRUSTED: SendTarget = { transport: 'udp', address: '10.1.2.3', port: 5070 };

function harness(extra: Record<string, unknown> = {}): ShardHarness {
  return new ShardHarness({ routes: ROUTES, security: { trustedNetworks: ['10.0.0.0/8'] }, ...extra });
}

interface Req { method?: string; uri: string; from?: string; callId: string; source: SendTarget; toTag?: string; extra?: string[] }

function request(r: Req): string {
  const method = r.method ?? 'INVITE';
  const host = r.source.address.includes(':') ? `[${r.source.address}]` : r.source.address;
  return [
    `${method} ${r.uri} SIP/2.0`,
    `Via: SIP/2.0/UDP ${host}:${r.source.port};branch=z9hG4bK-${r.callId}-${(r.extra ?? []).length}`,
    'Max-Forwards: 70',
    `From: <${r.from ?? 'sip:mallory@evil.example'}>;tag=f-${r.callId}`,
    `To: <${r.uri}>${r.toTag === undefined ? '' : `;tag=${r.toTag}`}`,
    `Call-ID: ${r.callId}`,
    `CSeq: ${1 + (r.extra ?? []).length} ${method}`,
    `Contact: <sip:x@${host}:${r.source.port}>`,
    ...(r.extra ?? []),
    'Content-Length: 0', '', '',
  ].join('\n');
}

/** Send and sort what came out: requests forwarded anywhere, and the final answer to the caller. */
function send(h: ShardHarness, r: Req): { forwarded: Sent[]; final: Sent | undefined } {
  h.receive(request(r), r.source);
  const out = h.take();
  return {
    forwarded: out.filter((s) => s.msg.isRequest),
    final: out.find((s) => !s.msg.isRequest && s.msg.status >= 200 && s.to.address === r.source.address),
  };
}

/** 407, then the same request again with credentials of `user` for the challenge. */
function sendWithAuth(h: ShardHarness, r: Req, user: string, password: string): ReturnType<typeof send> & { challenged: number | undefined } {
  const first = send(h, r);
  const challenge = first.final?.msg.getAll('proxy-authenticate')[0];
  if (challenge === undefined) return { ...first, challenged: first.final?.msg.status };
  const creds = answerChallenge(challenge, { username: user, password, method: r.method ?? 'INVITE', uri: r.uri });
  return { ...send(h, { ...r, extra: [`Proxy-Authorization: ${creds}`] }), challenged: first.final?.msg.status };
}

t.test('calls to a local user are open to anyone, registered or not', async (t) => {
  const h = harness({ auth: { register: false } });
  t.teardown(() => h.close());
  h.receive(request({ method: 'REGISTER', uri: 'sip:127.0.0.1', from: 'sip:100@127.0.0.1', callId: 'r1', source: { ...UNTRUSTED, port: 5090 } })
    .replace('To: <sip:127.0.0.1>', 'To: <sip:100@127.0.0.1>'), { ...UNTRUSTED, port: 5090 });
  t.equal(h.take().find((s) => !s.msg.isRequest)?.msg.status, 200, 'registered');
  const call = send(h, { uri: 'sip:100@127.0.0.1', callId: 'l1', source: UNTRUSTED });
  t.equal(call.forwarded.length, 1, 'the INVITE from a foreign caller reaches the binding');
  t.equal(call.forwarded[0]!.to.port, 5090);
  t.equal(send(h, { uri: 'sip:101@127.0.0.1', callId: 'l2', source: UNTRUSTED }).final?.msg.status, 480, 'an unregistered user: 480, not 403');
  t.equal(h.runtime.stats.relayForbidden, 0);
});

t.test('a foreign Request-URI host from an untrusted caller: 403 Relay Forbidden, nothing forwarded', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  for (const method of ['INVITE', 'OPTIONS', 'MESSAGE', 'REGISTER']) {
    const r = send(h, { method, uri: 'sip:bob@example.org', callId: `f-${method}`, source: UNTRUSTED });
    t.equal(r.final?.msg.status, 403, `${method}: 403`);
    t.equal(r.final?.msg.reason, 'Relay Forbidden');
    t.same(r.forwarded, [], `${method}: not relayed`);
  }
  t.equal(h.runtime.stats.relayForbidden, 4, 'counted');
  const routed = send(h, { uri: 'sip:bob@example.org', callId: 'f-route', source: UNTRUSTED, extra: ['Route: <sip:example.org;lr>'] });
  t.equal(routed.final?.msg.status, 403, 'a pre-loaded Route to another host is a relay too');
});

t.test('a static route from an untrusted caller: 403 for a foreign From, 407 for a From in our domains', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  const foreign = send(h, { uri: 'sip:9000@127.0.0.1', callId: 's1', source: UNTRUSTED });
  t.equal(foreign.final?.msg.status, 403);
  t.same(foreign.forwarded, [], 'the route peer never sees it');
  const unknownLocal = send(h, { uri: 'sip:9000@127.0.0.1', from: 'sip:nobody@127.0.0.1', callId: 's2', source: UNTRUSTED });
  t.equal(unknownLocal.final?.msg.status, 407, 'a From in our domains is challenged, naming a user or not');
  t.ok(unknownLocal.final?.msg.get('proxy-authenticate'));
  const message = send(h, { method: 'MESSAGE', uri: 'sip:9000@127.0.0.1', from: 'sip:100@127.0.0.1', callId: 's3', source: UNTRUSTED });
  t.equal(message.final?.msg.status, 407, 'any method, not only INVITE');
  t.same([...foreign.forwarded, ...unknownLocal.forwarded, ...message.forwarded], []);
  t.equal(h.runtime.stats.relayForbidden, 1);
  t.equal(h.runtime.stats.relayChallenged, 2);
});

t.test('a live reload of the trusted networks applies from the next request', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'rl1', source: UNTRUSTED }).final?.msg.status, 403, 'untrusted before');
  h.runtime.applyConfig(testConfig({ listen: [{ transport: 'udp', address: '127.0.0.1', port: 5060 }], routes: ROUTES, security: { trustedNetworks: ['198.51.100.0/24'] } }));
  const now = send(h, { uri: 'sip:9000@127.0.0.1', callId: 'rl2', source: UNTRUSTED });
  t.equal(now.forwarded.length, 1, 'its network trusted by the reload: routed out');
  t.equal(now.forwarded[0]?.to.port, ROUTE_PEER.port);
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'rl3', source: TRUSTED }).final?.msg.status, 403, 'and the network the reload dropped is no longer trusted');
});

t.test('a trusted network routes out without authenticating', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  const routed = send(h, { uri: 'sip:9000@127.0.0.1', callId: 'tn1', source: TRUSTED });
  t.equal(routed.forwarded[0]?.msg.uri, 'sip:9000@127.0.0.1:5080', 'static route');
  t.equal(routed.forwarded[0]?.to.port, ROUTE_PEER.port);
  t.equal(send(h, { method: 'OPTIONS', uri: 'sip:bob@127.0.0.2:5099', callId: 'tn2', source: TRUSTED }).forwarded[0]?.to.port, 5099, 'foreign host');
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'tn3', source: { ...TRUSTED, address: '11.1.2.3' } }).final?.msg.status, 403, 'outside the network: 403');
});

t.test('a local user authenticates after the 407 and routes out', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  const call = sendWithAuth(h, { uri: 'sip:9000@127.0.0.1', from: 'sip:100@127.0.0.1', callId: 'a1', source: UNTRUSTED }, '100', 'demo100pass');
  t.equal(call.challenged, 407);
  t.equal(call.forwarded[0]?.to.port, ROUTE_PEER.port, 'forwarded with the right credentials');
  t.same(call.forwarded[0]?.msg.getAll('proxy-authorization'), [], 'our credentials removed');
  const msg = sendWithAuth(h, { method: 'MESSAGE', uri: 'sip:bob@127.0.0.2:5099', from: 'sip:101@127.0.0.1', callId: 'a2', source: UNTRUSTED }, '101', 'demo101pass');
  t.equal(msg.challenged, 407);
  t.equal(msg.forwarded[0]?.to.port, 5099, 'a MESSAGE to a foreign host after authenticating');
  const wrong = sendWithAuth(h, { uri: 'sip:9000@127.0.0.1', from: 'sip:100@127.0.0.1', callId: 'a3', source: UNTRUSTED }, '100', 'wrong');
  t.equal(wrong.final?.msg.status, 407, 'a wrong password: challenged again');
  t.same(wrong.forwarded, []);
  const other = sendWithAuth(h, { method: 'MESSAGE', uri: 'sip:9000@127.0.0.1', from: 'sip:100@127.0.0.1', callId: 'a4', source: UNTRUSTED }, '101', 'demo101pass');
  t.equal(other.final?.msg.status, 403, "someone else's credentials do not speak for the From");
  t.same(other.forwarded, []);
});

t.test('INVITE auth off: a From in our domains cannot authenticate, so an untrusted one gets 403', async (t) => {
  const h = harness({ auth: { invite: false } });
  t.teardown(() => h.close());
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', from: 'sip:100@127.0.0.1', callId: 'o1', source: UNTRUSTED }).final?.msg.status, 403);
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', from: 'sip:100@127.0.0.1', callId: 'o2', source: TRUSTED }).forwarded.length, 1, 'a trusted source still routes');
});

t.test("a trunk's address is trusted (its port pins UDP sources); a trunk route is guarded like any other", async (t) => {
  const trunks = [{ name: 'gw', addresses: ['203.0.113.5'] }, { name: 'pinned', addresses: ['203.0.113.6:5060'] }, { name: 'out', addresses: ['127.0.0.1:5091'] }];
  const h = harness({ trunks, routes: [...ROUTES, { prefix: '8', trunks: ['out'], strip: 0, prepend: '' }] });
  t.teardown(() => h.close());
  const fromTrunk = send(h, { uri: 'sip:9000@127.0.0.1', callId: 'k1', source: { transport: 'udp', address: '203.0.113.5', port: 5060 } });
  t.equal(fromTrunk.forwarded[0]?.to.port, ROUTE_PEER.port, 'from a trunk address: routed');
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'k2', source: { transport: 'udp', address: '203.0.113.6', port: 5060 } }).forwarded.length, 1, 'pinned port matches');
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'k3', source: { transport: 'udp', address: '203.0.113.6', port: 5061 } }).final?.msg.status, 403, 'another UDP port of that host: untrusted');
  const toTrunk = send(h, { uri: 'sip:8000@127.0.0.1', callId: 'k4', source: UNTRUSTED });
  t.equal(toTrunk.final?.msg.status, 403, 'an untrusted caller cannot use a trunk route');
  t.same(toTrunk.forwarded, []);
  t.equal(send(h, { uri: 'sip:8000@127.0.0.1', callId: 'k5', source: TRUSTED }).forwarded[0]?.to.port, 5091, 'a trusted one can');
});

t.test('IPv6 trusted networks (and an IPv4 source seen as IPv4-mapped IPv6)', async (t) => {
  const h = harness({ security: { trustedNetworks: ['2001:db8:10::/48', '192.0.2.0/24'] } });
  t.teardown(() => h.close());
  const v6 = (address: string): SendTarget => ({ transport: 'udp', address, port: 5070 });
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'v1', source: v6('2001:db8:10:ff::7') }).forwarded.length, 1, 'inside the /48');
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'v2', source: v6('2001:db8:11::7') }).final?.msg.status, 403, 'outside it');
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'v3', source: v6('::ffff:192.0.2.44') }).forwarded.length, 1, 'IPv4-mapped source in 192.0.2.0/24');
  t.equal(send(h, { uri: 'sip:9000@127.0.0.1', callId: 'v4', source: v6('::1') }).final?.msg.status, 403, 'loopback is not trusted unless listed');
});

t.test('in-dialog requests, ACK and CANCEL are not subject to the policy', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  const bye = send(h, { method: 'BYE', uri: 'sip:bob@127.0.0.2:5099', callId: 'd1', toTag: 'tt', source: UNTRUSTED });
  t.equal(bye.forwarded[0]?.to.port, 5099, 'a BYE (To tag) follows its dialog');
  const ack = send(h, { method: 'ACK', uri: 'sip:bob@127.0.0.2:5099', callId: 'd2', toTag: 'tt', source: UNTRUSTED });
  t.equal(ack.forwarded.length, 1, 'a 2xx ACK is forwarded');
  const cancel = send(h, { method: 'CANCEL', uri: 'sip:bob@127.0.0.2:5099', callId: 'd3', source: UNTRUSTED });
  t.equal(cancel.final, undefined, 'an unmatched CANCEL is never challenged or refused');
  t.equal(cancel.forwarded[0]?.msg.method, 'CANCEL', 'it is forwarded statelessly (RFC 3261 16.10)');
  t.equal(h.runtime.stats.relayForbidden + h.runtime.stats.relayChallenged, 0);
});

t.test('a call arriving on a line: a number the config fixes is open, the called number is guarded', async (t) => {
  const line = { name: 'prov', registrar: 'sip:127.0.0.1:5093', username: 'acct', password: 'pw', register: false };
  const byNumber = harness({ lines: [line] });
  t.teardown(() => byNumber.close());
  const r1 = send(byNumber, { uri: 'sip:9000@127.0.0.1;line=prov', callId: 'n1', source: UNTRUSTED });
  t.equal(r1.final?.msg.status, 403, 'a forged ;line= with a number of its choosing: 403');
  t.same(r1.forwarded, []);
  const fixed = harness({ lines: [{ ...line, inboundNumber: '9555' }] });
  t.teardown(() => fixed.close());
  const r2 = send(fixed, { uri: 'sip:acct@127.0.0.1;line=prov', callId: 'n2', source: UNTRUSTED });
  t.equal(r2.forwarded[0]?.msg.uri, 'sip:9555@127.0.0.1:5080', 'inboundNumber: routed where the config says');
});
