// A response context is released as soon as its final answer went upstream and every branch has
// one (lib/proxy/proxy-core.ts releaseIfSettled): what RFC 6026 Accepted and RFC 3261 Completed
// still need must keep working without it. In-thread, hand-moved clock.
import t from 'tap';
import type { SendTarget } from '../../lib/transport/types.js';
import { answer, CALLEE, CALLER, invite, ShardHarness, type Sent } from '../helpers/shard-harness.js';

const ROUTE = { routes: [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] };
const SDP_OK = ['Contact: <sip:callee@127.0.0.1:5080>'];

function inDialog(method: string, callId: string, branch: string, toTag: string, cseq: number): string {
  return [
    `${method} sip:callee@127.0.0.1:5080 SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}`, 'Max-Forwards: 70',
    'Route: <sip:127.0.0.1:5060;lr>', 'From: <sip:caller@127.0.0.9>;tag=ft1', `To: <sip:9000@127.0.0.1:5060>;tag=${toTag}`,
    `Call-ID: ${callId}`, `CSeq: ${cseq} ${method}`, 'Content-Length: 0', '', '',
  ].join('\n');
}

const at = (port: number): SendTarget => ({ transport: 'udp', address: '127.0.0.1', port });

/** A user registered from two ports on loopback: requests to it fork to both. */
function bindTwo(h: ShardHarness, user: string, ports: [number, number]): void {
  const now = h.clock.now();
  h.runtime.applyBinding({
    aor: `sip:${user}@127.0.0.1`,
    bindings: ports.map((port, i) => ({
      contact: `sip:${user}@127.0.0.1:${port}`, expiresAt: now + 3600_000, q: 1 - i / 2, callId: `r${port}`, cseq: 1,
      source: { transport: 'udp' as const, address: '127.0.0.1', port, connId: 0 },
    })),
  });
}

const responsesTo = (out: Sent[], to: SendTarget): number[] =>
  out.filter((s) => !s.msg.isRequest && s.to.port === to.port).map((s) => s.msg.status);

t.test('after the 2xx: no context held, yet retransmitted and forked 2xx go upstream through Timer L', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  const core = h.runtime.core;
  const inv = invite({ callId: 's1', branch: 'z9hG4bK-s1' });
  h.receive(inv, CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  t.equal(core.contextCount, 1, 'a pending INVITE has its context');
  h.receive(answer(fwd.msg, 180, 'Ringing', 'u1'), CALLEE);
  h.receive(answer(fwd.msg, 200, 'OK', 'u1', SDP_OK), CALLEE);
  t.same(responsesTo(h.take(), CALLER), [180, 200]);
  t.equal(core.contextCount, 0, 'settled by the 2xx: released at once');
  t.equal(core.transactionCount, 2, 'both INVITE transactions stay in Accepted');

  h.receive(answer(fwd.msg, 200, 'OK', 'u1', SDP_OK), CALLEE);
  const again = h.take();
  t.same(responsesTo(again, CALLER), [200], 'a retransmitted 2xx is relayed (RFC 6026 7.2)');
  t.equal(again[0]!.msg.getAll('via').length, 1, 'with our Via removed');

  h.receive(answer(fwd.msg, 200, 'OK', 'u2', ['Contact: <sip:other@127.0.0.1:5081>']), CALLEE);
  t.same(responsesTo(h.take(), CALLER), [200], 'a 2xx of another fork downstream is relayed too');
  t.equal(h.runtime.dialogs.stats().confirmed, 2, 'and its dialog tracked with the caller side kept');
  const forked = h.runtime.dialogs.find('s1', 'ft1', 'u2');
  t.equal(forked?.callerContact, 'sip:caller@127.0.0.1:5070');
  t.equal(forked?.calleeContact, 'sip:other@127.0.0.1:5081');

  h.receive(inv, CALLER);
  t.same(h.take(), [], 'a retransmitted INVITE is absorbed in Accepted');

  h.receive(inDialog('ACK', 's1', 'z9hG4bK-s1ack', 'u1', 1), CALLER);
  const ack = h.take();
  t.equal(ack.length, 1);
  t.equal(ack[0]!.msg.method, 'ACK', 'the 2xx ACK is forwarded end to end');
  t.equal(ack[0]!.to.port, CALLEE.port);

  h.advance(33_000);
  t.equal(core.transactionCount, 0, 'Timer L and M ended both transactions');
  h.receive(answer(fwd.msg, 200, 'OK', 'u1', SDP_OK), CALLEE);
  t.same(responsesTo(h.take(), CALLER), [200], 'later still, a 2xx is passed upstream by its Via');
});

t.test('a CANCEL after the 2xx is answered 200 and changes nothing downstream', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 's2', branch: 'z9hG4bK-s2' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 200, 'OK', 'u1', SDP_OK), CALLEE);
  h.take();
  h.receive([
    'CANCEL sip:9000@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-s2', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', 'To: <sip:9000@127.0.0.1:5060>', 'Call-ID: s2', 'CSeq: 1 CANCEL', 'Content-Length: 0', '', '',
  ].join('\n'), CALLER);
  const out = h.take();
  t.same(out.map((s) => `${s.msg.isRequest ? s.msg.method : s.msg.status} ${s.to.port}`), [`200 ${CALLER.port}`]);
});

t.test('after a non-2xx final: released, the retransmitted final is ACKed downstream and not relayed again', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 's3', branch: 'z9hG4bK-s3' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 486, 'Busy Here', 'u1'), CALLEE);
  const first = h.take();
  t.same(responsesTo(first, CALLER), [486]);
  t.equal(first.filter((s) => s.msg.method === 'ACK').length, 1);
  t.equal(h.runtime.core.contextCount, 0);
  h.receive(answer(fwd.msg, 486, 'Busy Here', 'u1'), CALLEE);
  const again = h.take();
  t.same(again.map((s) => s.msg.method), ['ACK'], 'the client transaction re-ACKs on its own (RFC 3261 17.1.1.2)');
  h.advance(600);
  t.same(responsesTo(h.take(), CALLER), [486], 'Timer G still re-sends the 486 upstream until the ACK');
});

t.test('BYE: its context is released with the 200, and a retransmitted BYE gets the 200 again', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 's4', branch: 'z9hG4bK-s4' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 200, 'OK', 'u1', SDP_OK), CALLEE);
  h.take();
  const bye = inDialog('BYE', 's4', 'z9hG4bK-s4bye', 'u1', 2);
  h.receive(bye, CALLER);
  const down = h.take().find((s) => s.msg.method === 'BYE')!;
  t.equal(h.runtime.core.contextCount, 1);
  h.receive(answer(down.msg, 200, 'OK'), CALLEE);
  t.same(responsesTo(h.take(), CALLER), [200]);
  t.equal(h.runtime.core.contextCount, 0);
  t.equal(h.runtime.dialogs.stats().confirmed, 0, 'the dialog ended');
  h.receive(bye, CALLER);
  t.same(responsesTo(h.take(), CALLER), [200], 'Timer J: the retransmission gets the last response');
});

t.test('forking: a branch that had no provisional when the other answered keeps its state', async (t) => {
  const h = new ShardHarness();
  t.teardown(() => h.close());
  bindTwo(h, '101', [6001, 6002]);
  h.receive(invite({ callId: 's5', branch: 'z9hG4bK-s5', uri: 'sip:101@127.0.0.1' }), CALLER);
  const fwds = h.take().filter((s) => s.msg.isRequest);
  const a = fwds.find((s) => s.to.port === 6001)!;
  const b = fwds.find((s) => s.to.port === 6002)!;
  h.receive(answer(a.msg, 200, 'OK', 'ta', ['Contact: <sip:101@127.0.0.1:6001>']), at(6001));
  const up = h.take();
  t.same(responsesTo(up, CALLER), [200]);
  t.equal(up.filter((s) => s.msg.method === 'CANCEL').length, 0, 'no CANCEL before the other branch sent a provisional');
  t.equal(h.runtime.core.contextCount, 0, 'released: the other branch has its (own) 487');
  h.receive(answer(b.msg, 180, 'Ringing', 'tb'), at(6002));
  const cancel = h.take().filter((s) => s.msg.method === 'CANCEL');
  t.equal(cancel.length, 1, 'CANCEL goes out once that branch rings (RFC 3261 9.1)');
  t.equal(cancel[0]!.to.port, 6002);
  h.receive(answer(b.msg, 200, 'OK', 'tb', ['Contact: <sip:101@127.0.0.1:6002>']), at(6002));
  t.same(responsesTo(h.take(), CALLER), [200], 'its 2xx, crossing the CANCEL, still goes upstream');
  t.equal(h.runtime.dialogs.stats().confirmed, 2);
});

t.test('a forked request answered by one branch: its context is held until the last branch ends, then counted out', async (t) => {
  const h = new ShardHarness();
  t.teardown(() => h.close());
  bindTwo(h, '102', [6011, 6012]);
  h.receive([
    'MESSAGE sip:102@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-s6', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', 'To: <sip:102@127.0.0.1>', 'Call-ID: s6', 'CSeq: 1 MESSAGE', 'Content-Length: 0', '', '',
  ].join('\n'), CALLER);
  const fwds = h.take().filter((s) => s.msg.isRequest);
  t.same(fwds.map((s) => s.to.port).sort(), [6011, 6012], 'forked to both bindings');
  h.receive(answer(fwds.find((s) => s.to.port === 6011)!.msg, 200, 'OK'), at(6011));
  t.same(responsesTo(h.take(), CALLER), [200]);
  t.equal(h.runtime.core.contextCount, 1, 'the other branch still waits: the context stays');
  h.advance(40_000); // Timer F ends the silent branch, Timer J the server transaction
  t.equal(h.runtime.core.contextCount, 0, 'released once, not counted below zero');
  t.equal(h.runtime.core.transactionCount, 0);
  t.same(responsesTo(h.take(), CALLER), [], 'nothing more goes upstream');
});
