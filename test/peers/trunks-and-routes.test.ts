// Trunks and the dial plan, in-thread: source check (403), failover on 503 and timeout, OPTIONS
// keep-alive down/up, call limit, Request-URI parameters; longest prefix, strip, prepend, TEL.
import t from 'tap';
import { CALLER, invite, ShardHarness, type Sent } from '../helpers/shard-harness.js';
import { reply } from '../helpers/provider.js';
import type { TrunkState } from '../../lib/peers/peer-state.js';

const A = { transport: 'udp' as const, address: '127.0.0.1', port: 5091 };
const B = { transport: 'udp' as const, address: '127.0.0.1', port: 5092 };
const TRUNKS = [
  { name: 'a', addresses: ['127.0.0.1:5091'], domains: ['trunk-a.example'], requestUriParams: 'user=phone', maxCalls: 1 },
  { name: 'b', addresses: ['127.0.0.1:5092'] },
];
const ROUTES = [{ prefix: '8', trunks: ['a', 'b'], strip: 1, prepend: '+86' }];

function harness(extra: Record<string, unknown> = {}): ShardHarness {
  return new ShardHarness({ trunks: TRUNKS, routes: ROUTES, auth: { invite: false }, ...extra });
}

const invitesTo = (out: Sent[], port: number): Sent[] => out.filter((s) => s.msg.isRequest && s.msg.method === 'INVITE' && s.to.port === port);
const finals = (out: Sent[]): number[] => out.filter((s) => !s.msg.isRequest && s.to.port === CALLER.port && s.msg.status >= 200).map((s) => s.msg.status);

t.test('a trunk route: first trunk with its params; 503 fails over to the next, which has none', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  h.receive(invite({ callId: 't1', branch: 'z9hG4bK-t1', uri: 'sip:8139@127.0.0.1:5060' }), CALLER);
  const [a] = invitesTo(h.take(), A.port);
  t.equal(a?.msg.uri, 'sip:+86139@127.0.0.1:5091;user=phone', 'trunk a: strip 1, prepend +86, user=phone');
  h.receive(reply(a!.msg, 503, 'Service Unavailable', [], 'ta'), A);
  const out = h.take();
  t.same(finals(out), [], 'the caller gets nothing yet');
  const [b] = invitesTo(out, B.port);
  t.equal(b?.msg.uri, 'sip:+86139@127.0.0.1:5092', 'trunk b: no parameters');
  h.receive(reply(b!.msg, 486, 'Busy Here', [], 'tb'), B);
  t.same(finals(h.take()), [486], "the last trunk's answer goes upstream");
});

t.test('no answer from the first trunk: Timer B, then the next trunk', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  h.receive(invite({ callId: 't2', branch: 'z9hG4bK-t2', uri: 'sip:8139@127.0.0.1:5060' }), CALLER);
  t.equal(invitesTo(h.take(), A.port).length, 1);
  h.advance(32_100);
  const out = h.take();
  t.equal(invitesTo(out, B.port).length, 1, 'failed over after the timeout');
  t.same(finals(out), []);
});

t.test('call limit: a full trunk is skipped; the slot comes back with the BYE', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  h.receive(invite({ callId: 't3', branch: 'z9hG4bK-t3', uri: 'sip:8139@127.0.0.1:5060' }), CALLER);
  const [a] = invitesTo(h.take(), A.port);
  h.receive(reply(a!.msg, 200, 'OK', ['Contact: <sip:gw@127.0.0.1:5091>'], 'ta3'), A);
  h.take();
  h.receive(invite({ callId: 't4', branch: 'z9hG4bK-t4', uri: 'sip:8140@127.0.0.1:5060' }), CALLER);
  t.equal(invitesTo(h.take(), B.port).length, 1, 'trunk a is at maxCalls 1: the call goes to b');
  h.receive([
    'BYE sip:gw@127.0.0.1:5091 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-t3bye', 'Max-Forwards: 70',
    'Route: <sip:127.0.0.1:5060;lr>', 'From: <sip:caller@127.0.0.9>;tag=ft1', 'To: <sip:8139@127.0.0.1:5060>;tag=ta3',
    'Call-ID: t3', 'CSeq: 2 BYE', 'Content-Length: 0', '', '',
  ].join('\n'), CALLER);
  const [bye] = h.take().filter((s) => s.msg.method === 'BYE');
  h.receive(reply(bye!.msg, 200, 'OK'), A);
  h.take();
  h.receive(invite({ callId: 't5', branch: 'z9hG4bK-t5', uri: 'sip:8141@127.0.0.1:5060' }), CALLER);
  t.equal(invitesTo(h.take(), A.port).length, 1, 'after the BYE trunk a takes calls again');
});

t.test('OPTIONS keep-alive: down after N unanswered pings, calls skip it, up again on an answer', async (t) => {
  const keepAlive = { intervalSeconds: 5, failuresBeforeDown: 2 };
  const h = harness({ trunks: [{ ...TRUNKS[0], keepAlive }, TRUNKS[1]] });
  t.teardown(() => h.close());
  h.runtime.flush();
  const pings = (): Sent[] => h.take().filter((s) => s.msg.method === 'OPTIONS');
  const state = (): TrunkState => h.runtime.peers.states.get('a') as TrunkState;
  let ping: Sent | undefined = pings()[0];
  t.equal(ping?.msg.uri, 'sip:127.0.0.1:5091;user=phone', 'OPTIONS to the first address, with the trunk params');
  t.equal(state().state, 'up');
  h.advance(5_000);
  ping = pings()[0];
  t.ok(ping, 'the next ping after the interval');
  t.match(state(), { state: 'up', failures: 1 });
  h.advance(5_000);
  t.match(state(), { state: 'down', failures: 2 }, 'down after 2 unanswered');
  h.receive(invite({ callId: 't6', branch: 'z9hG4bK-t6', uri: 'sip:8139@127.0.0.1:5060' }), CALLER);
  const out = h.take();
  t.equal(invitesTo(out, A.port).length, 0, 'a down trunk gets no call');
  t.equal(invitesTo(out, B.port).length, 1, 'the next trunk does');
  h.advance(5_000);
  ping = pings().at(-1); // the earlier ones are retransmissions of lost pings
  h.receive(reply(ping!.msg, 404, 'Not Found'), A);
  t.match(state(), { state: 'up', failures: 0, lastStatus: 404 }, 'any answer brings it back');
});

t.test('every trunk down or full: 503 at once', async (t) => {
  const h = harness({ trunks: [{ ...TRUNKS[0], maxCalls: 1 }], routes: [{ prefix: '8', trunks: ['a'] }] });
  t.teardown(() => h.close());
  h.receive(invite({ callId: 't7', branch: 'z9hG4bK-t7', uri: 'sip:8139@127.0.0.1:5060' }), CALLER);
  h.take();
  h.receive(invite({ callId: 't8', branch: 'z9hG4bK-t8', uri: 'sip:8139@127.0.0.1:5060' }), CALLER);
  t.same(finals(h.take()), [503]);
});

t.test('a request claiming a trunk from elsewhere gets 403; from its address it is routed', async (t) => {
  const h = harness({ routes: [...ROUTES, { prefix: '1', destination: 'sip:127.0.0.1:5080' }] });
  t.teardown(() => h.close());
  const claim = (callId: string): string => invite({ callId, branch: `z9hG4bK-${callId}`, uri: 'sip:1555@127.0.0.1:5060' }).replace('From: <sip:caller@127.0.0.9>', 'From: <sip:+8613901088888@trunk-a.example>');
  h.receive(claim('c1'), CALLER);
  t.same(finals(h.take()), [403], 'claims trunk a (its domain) from another address');
  h.receive(claim('c2'), A);
  const out = h.take();
  t.same(finals(out), []);
  t.equal(out.filter((s) => s.msg.isRequest && s.msg.method === 'INVITE').length, 1, 'from trunk a: routed');
});

t.test('dial plan: longest prefix, strip, prepend, user, 404 and 480; tel: normalised to a user', async (t) => {
  const routes = [
    { prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 1 },
    { prefix: '90', destination: 'sip:127.0.0.1:5081', strip: 2, prepend: '0086' },
    { prefix: '+86139', user: '101' },
    { prefix: '+86138', user: '102' },
  ];
  const h = harness({ routes });
  t.teardown(() => h.close());
  h.runtime.applyBinding({ aor: 'sip:101@127.0.0.1', bindings: [{ contact: 'sip:101@127.0.0.1:5085', expiresAt: h.clock.t + 3600_000, q: 1, callId: 'r', cseq: 1, source: { transport: 'udp', address: '127.0.0.1', port: 5085, connId: 0 } }] });
  const route = (uri: string, id: string, to?: string): Sent[] => {
    let msg = invite({ callId: id, branch: `z9hG4bK-${id}`, uri });
    if (to !== undefined) msg = msg.replace(`To: <${uri}>`, `To: ${to}`);
    h.receive(msg, CALLER);
    return h.take();
  };
  const fwd = (out: Sent[]): Sent | undefined => out.find((s) => s.msg.isRequest && s.msg.method === 'INVITE');
  t.equal(fwd(route('sip:9123@127.0.0.1', 'd1'))?.msg.uri, 'sip:123@127.0.0.1:5080', '9: strip 1');
  t.equal(fwd(route('sip:90123@127.0.0.1', 'd2'))?.msg.uri, 'sip:0086123@127.0.0.1:5081', '90 beats 9: strip 2, prepend 0086');
  const tel = fwd(route('tel:+86-139-0108-8888', 'd3', '<tel:+86-139-0108-8888>'));
  t.equal(tel?.msg.uri, 'sip:101@127.0.0.1:5085', 'tel:+86-139-0108-8888 reaches user 101 of route +86139');
  t.equal(tel?.msg.get('to'), '<sip:+8613901088888@127.0.0.1;user=phone>', 'To normalised to a SIP URI');
  t.same(finals(route('sip:+8613800000000@127.0.0.1', 'd4')), [480], 'route to a user with no binding: 480');
  t.same(finals(route('sip:777@127.0.0.1', 'd5')), [404], 'no route: 404');
  const ctx = fwd(route('tel:+8613901088888;phone-context=+86', 'd6'));
  t.equal(ctx?.msg.uri, 'sip:101@127.0.0.1:5085', 'phone-context kept, still routed by the number');
});
