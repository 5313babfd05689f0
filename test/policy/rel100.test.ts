// 100rel per peer, in-thread (lib/policy/rel100.ts through the proxy core): transparent reliable
// 183 + PRACK on a trunk, Supported without 100rel and 420 for Require: 100rel in disable mode, a
// disabled trunk skipped in failover, and an `auto` trunk learning disable from a PRACK's 405.
import t from 'tap';
import { CALLER, invite, ShardHarness, type Sent } from '../helpers/shard-harness.js';
import { reply } from '../helpers/provider.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { strip100rel, requires100rel } from '../../lib/policy/rel100.js';
import type { Rel100Learned } from '../../lib/policy/rel100.js';

const A = { transport: 'udp' as const, address: '127.0.0.1', port: 5091 };
const B = { transport: 'udp' as const, address: '127.0.0.1', port: 5092 };

function harness(modeA: string, modeB = 'passthrough'): ShardHarness {
  return new ShardHarness({
    trunks: [{ name: 'a', addresses: ['127.0.0.1:5091'], rel100: modeA }, { name: 'b', addresses: ['127.0.0.1:5092'], rel100: modeB }],
    routes: [{ prefix: '8', trunks: ['a', 'b'] }, { prefix: '7', trunks: ['a'] }],
    auth: { invite: false },
  });
}

const invitesTo = (out: Sent[], port: number): Sent[] => out.filter((s) => s.msg.isRequest && s.msg.method === 'INVITE' && s.to.port === port);
const toCaller = (out: Sent[]): Sent[] => out.filter((s) => !s.msg.isRequest && s.to.port === CALLER.port && s.msg.status > 100);
const call = (id: string, uri: string, extra: string[]): string => invite({ callId: id, branch: `z9hG4bK-${id}`, uri, extra });

function prack(id: string, toTag: string, rseq: number, cseq = 2): string {
  return [
    'PRACK sip:gw@127.0.0.1:5091 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${id}-pr${cseq}`, 'Max-Forwards: 70',
    'Route: <sip:127.0.0.1:5060;lr>', 'From: <sip:caller@127.0.0.9>;tag=ft1', `To: <sip:8139@127.0.0.1:5060>;tag=${toTag}`,
    `Call-ID: ${id}`, `CSeq: ${cseq} PRACK`, `RAck: ${rseq} 1 INVITE`, 'Content-Length: 0', '', '',
  ].join('\n');
}

t.test('strip100rel keeps the other tags and drops an emptied header', async (t) => {
  const m = parseMessage(Buffer.from('INVITE sip:a@b SIP/2.0\r\nSupported: timer, 100rel, replaces\r\nk: 100rel\r\nRequire: 100REL\r\nContent-Length: 0\r\n\r\n')).message;
  t.ok(requires100rel(m));
  strip100rel(m);
  t.equal(m.get('supported'), 'timer, replaces');
});

t.test('passthrough: reliable 183 and its retransmission go up, PRACK goes to the trunk, PRACK after 200 too', async (t) => {
  const h = harness('passthrough');
  t.teardown(() => h.close());
  h.receive(call('p1', 'sip:7139@127.0.0.1:5060', ['Supported: 100rel, timer']), CALLER);
  const [inv] = invitesTo(h.take(), A.port);
  t.equal(inv?.msg.get('supported'), '100rel, timer', 'Supported untouched');
  const r183 = reply(inv!.msg, 183, 'Session Progress', ['Require: 100rel', 'RSeq: 1', 'Contact: <sip:gw@127.0.0.1:5091>'], 'tg1');
  h.receive(r183, A);
  h.receive(r183, A);
  const up = toCaller(h.take());
  t.same(up.map((s) => [s.msg.status, s.msg.get('rseq')]), [[183, '1'], [183, '1']], 'both copies relayed, not de-duplicated');
  h.receive(prack('p1', 'tg1', 1), CALLER);
  const [pr] = h.take().filter((s) => s.msg.method === 'PRACK' && s.msg.isRequest);
  t.equal(pr?.to.port, A.port, 'PRACK routed to the trunk');
  t.equal(pr?.msg.get('rack'), '1 1 INVITE');
  h.receive(reply(pr!.msg, 200, 'OK', [], 'tg1'), A);
  t.same(toCaller(h.take()).map((s) => s.msg.cseq().method), ['PRACK'], 'its 200 goes back');
  h.receive(reply(inv!.msg, 200, 'OK', ['Contact: <sip:gw@127.0.0.1:5091>'], 'tg1'), A);
  h.take();
  h.receive(prack('p1', 'tg1', 2, 3), CALLER);
  t.equal(h.take().filter((s) => s.msg.method === 'PRACK' && s.msg.isRequest && s.to.port === A.port).length, 1, 'a PRACK after the 200 is routed too');
});

t.test('disable: no 100rel in Supported (other tags stay); Require: 100rel gets 420 and nothing goes out', async (t) => {
  const h = harness('disable');
  t.teardown(() => h.close());
  h.receive(call('d1', 'sip:7139@127.0.0.1:5060', ['Supported: timer, 100rel, replaces']), CALLER);
  const [inv] = invitesTo(h.take(), A.port);
  t.equal(inv?.msg.get('supported'), 'timer, replaces');
  h.receive(call('d2', 'sip:7139@127.0.0.1:5060', ['Supported: 100rel']), CALLER);
  t.same(invitesTo(h.take(), A.port)[0]?.msg.has('supported'), false, 'an emptied Supported is removed');
  h.receive(call('d3', 'sip:7139@127.0.0.1:5060', ['Require: 100rel']), CALLER);
  const out = h.take();
  t.equal(invitesTo(out, A.port).length, 0, 'nothing sent to the peer');
  const [res] = toCaller(out);
  t.equal(res?.msg.status, 420);
  t.equal(res?.msg.get('unsupported'), '100rel');
});

t.test('failover: a disabled trunk is skipped for a Require: 100rel call; the next one takes it as is', async (t) => {
  const h = harness('disable', 'passthrough');
  t.teardown(() => h.close());
  h.receive(call('f1', 'sip:8139@127.0.0.1:5060', ['Require: 100rel', 'Supported: 100rel']), CALLER);
  const out = h.take();
  t.equal(invitesTo(out, A.port).length, 0);
  t.equal(invitesTo(out, B.port)[0]?.msg.get('require'), '100rel');
  t.same(toCaller(out), []);
});

t.test('auto: a PRACK answered 405 is relayed, then new calls to the trunk carry no 100rel; reset brings it back', async (t) => {
  const h = harness('auto');
  t.teardown(() => h.close());
  const learned: Rel100Learned[] = [];
  const post = (h.runtime as unknown as { post: (b: { out: Array<{ t: string; l?: Rel100Learned }> }) => void });
  const orig = post.post;
  post.post = (b) => { for (const i of b.out) if (i.t === 'rel100') learned.push(i.l!); orig(b as never); };
  h.receive(call('a1', 'sip:7139@127.0.0.1:5060', ['Supported: 100rel']), CALLER);
  const [inv] = invitesTo(h.take(), A.port);
  t.equal(inv?.msg.get('supported'), '100rel', 'auto starts as passthrough');
  h.receive(reply(inv!.msg, 183, 'Session Progress', ['Require: 100rel', 'RSeq: 7', 'Contact: <sip:gw@127.0.0.1:5091>'], 'tg2'), A);
  h.take();
  h.receive(prack('a1', 'tg2', 7), CALLER);
  const [pr] = h.take().filter((s) => s.msg.method === 'PRACK' && s.msg.isRequest);
  h.receive(reply(pr!.msg, 405, 'Method Not Allowed', [], 'tg2'), A);
  t.same(toCaller(h.take()).map((s) => s.msg.status), [405], 'the 405 goes to the caller as passthrough would');
  t.equal(h.runtime.stats.rel100Learned, 1, 'counted');
  t.match(learned, [{ peer: 'a', status: 405 }], 'published for the main thread');
  h.receive(reply(inv!.msg, 200, 'OK', ['Contact: <sip:gw@127.0.0.1:5091>'], 'tg2'), A);
  t.same(toCaller(h.take()).map((s) => s.msg.status), [200], 'the call itself still completes');
  h.receive(call('a2', 'sip:7139@127.0.0.1:5060', ['Supported: 100rel, timer']), CALLER);
  t.equal(invitesTo(h.take(), A.port)[0]?.msg.get('supported'), 'timer', 'the next call has no 100rel');
  h.runtime.handleBatch([{ t: 'rel100', p: 'a', l: null }]);
  h.receive(call('a3', 'sip:7139@127.0.0.1:5060', ['Supported: 100rel']), CALLER);
  t.equal(invitesTo(h.take(), A.port)[0]?.msg.get('supported'), '100rel', 'after a reset: passthrough again');
  t.equal(h.runtime.stats.rel100Learned, 1);
});

t.test('passthrough and disable peers never learn from a refused PRACK', async (t) => {
  const h = harness('passthrough');
  t.teardown(() => h.close());
  h.receive(call('n1', 'sip:7139@127.0.0.1:5060', ['Supported: 100rel']), CALLER);
  const [inv] = invitesTo(h.take(), A.port);
  h.receive(reply(inv!.msg, 183, 'Session Progress', ['Require: 100rel', 'RSeq: 1', 'Contact: <sip:gw@127.0.0.1:5091>'], 'tg3'), A);
  h.receive(prack('n1', 'tg3', 1), CALLER);
  const [pr] = h.take().filter((s) => s.msg.method === 'PRACK' && s.msg.isRequest);
  h.receive(reply(pr!.msg, 501, 'Not Implemented', [], 'tg3'), A);
  t.equal(h.runtime.stats.rel100Learned, 0);
  t.equal(h.runtime.peers.rel100Learned.size, 0);
});

t.test('forked early dialogs keep their own PRACKs and UPDATEs (Route + each Contact)', async (t) => {
  const h = new ShardHarness({ auth: { invite: false, register: false } });
  t.teardown(() => h.close());
  const now = h.clock.now();
  const src = (port: number) => ({ transport: 'udp' as const, address: '127.0.0.1', port, connId: 0 });
  h.runtime.applyBinding({
    aor: 'sip:101@127.0.0.1',
    bindings: [
      { contact: 'sip:101@127.0.0.1:6001', expiresAt: now + 3600_000, q: 1, callId: 'r1', cseq: 1, source: src(6001) },
      { contact: 'sip:101@127.0.0.1:6002', expiresAt: now + 3600_000, q: 0.5, callId: 'r2', cseq: 1, source: src(6002) },
    ],
  });
  h.receive(call('k1', 'sip:101@127.0.0.1', ['Supported: 100rel']), CALLER);
  const fwds = h.take().filter((s) => s.msg.isRequest);
  t.equal(fwds.length, 2, 'forked');
  for (const f of fwds) {
    const port = f.to.port;
    h.receive(reply(f.msg, 183, 'Session Progress', ['Require: 100rel', 'RSeq: 1', `Contact: <sip:101@127.0.0.1:${port}>`], `t${port}`), src(port));
  }
  const up = toCaller(h.take());
  t.same(up.map((s) => s.msg.get('to')?.match(/tag=(\w+)/)?.[1]).sort(), ['t6001', 't6002'], 'both reliable 183s relayed');
  let seq = 2;
  for (const port of [6001, 6002]) {
    for (const method of ['PRACK', 'UPDATE']) {
      h.receive([
        `${method} sip:101@127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-k1-${method}${port}`, 'Max-Forwards: 70',
        'Route: <sip:127.0.0.1:5060;lr>', 'From: <sip:caller@127.0.0.9>;tag=ft1', `To: <sip:101@127.0.0.1>;tag=t${port}`,
        'Call-ID: k1', `CSeq: ${seq++} ${method}`, ...(method === 'PRACK' ? ['RAck: 1 1 INVITE'] : []), 'Content-Length: 0', '', '',
      ].join('\n'), CALLER);
      const sent = h.take().filter((s) => s.msg.isRequest && s.msg.method === method);
      t.same(sent.map((s) => s.to.port), [port], `${method} for the early dialog with tag t${port} goes to its callee`);
    }
  }
});
