// The shard on the main thread beside the workers (shard.placement: load) answers, message by
// message, whether it holds a Call-ID: from its INVITE until the last transaction after the BYE
// ends, through the confirmed dialog between them; and it posts no dialog checkpoints (they serve
// a worker's replacement; this shard dies only with the process).
import t from 'tap';
import { MAIN_SHARD_ID } from '../../lib/config/limits.js';
import { answer, CALLEE, CALLER, invite, ShardHarness } from '../helpers/shard-harness.js';

const ROUTE = { routes: [{ prefix: '7', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] };
const T1 = 500;

function bye(callId: string): string {
  return [
    'BYE sip:7000@127.0.0.1:5080 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye-${callId}`, 'Max-Forwards: 70',
    `Route: <sip:127.0.0.1:5060;lr>`, 'From: <sip:caller@127.0.0.9>;tag=ft1', `To: <sip:7000@127.0.0.1:5060>;tag=tt-${callId}`,
    `Call-ID: ${callId}`, 'CSeq: 2 BYE', 'Content-Length: 0', '', '',
  ].join('\n');
}

t.test('a call\'s Call-ID is the main thread shard\'s from its INVITE to its last transaction', async (t) => {
  const h = new ShardHarness(ROUTE, { shardId: MAIN_SHARD_ID, shardCount: 1 });
  t.teardown(() => h.close());
  const callId = 'owned-1@10.0.0.1';
  t.notOk(h.runtime.owns(callId), 'unknown before its INVITE');
  h.receive(invite({ callId, branch: 'z9hG4bK-inv-1', uri: 'sip:7000@127.0.0.1:5060' }), CALLER);
  t.ok(h.runtime.owns(callId), 'its INVITE transaction is live');
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 200, 'OK', `tt-${callId}`, ['Contact: <sip:uas@127.0.0.1:5080>']), CALLEE);
  h.take();
  h.advance(64 * T1 + 100); // Timer L / M: the INVITE's transactions are gone, the dialog stays
  t.equal(h.runtime.core.transactionCount, 0, 'no transaction left');
  t.ok(h.runtime.owns(callId), 'the confirmed dialog holds it');
  t.notOk(h.runtime.owns('other@10.0.0.1'), 'another Call-ID is not held');

  h.receive(bye(callId), CALLER);
  const byeOut = h.take().find((s) => s.msg.isRequest && s.msg.method === 'BYE');
  t.ok(byeOut, 'the BYE goes on to the callee');
  h.receive(answer(byeOut!.msg, 200, 'OK'), CALLEE);
  h.take();
  t.equal(h.runtime.dialogs.stats().confirmed, 0, 'the dialog ended');
  t.ok(h.runtime.owns(callId), 'its BYE transaction still holds it (a retransmitted BYE must find it)');
  h.advance(64 * T1 + 100); // Timer J / K
  t.notOk(h.runtime.owns(callId), 'released once the last transaction ends');
  t.same(h.posted.filter((p) => p.t === 'dlg'), [], 'no dialog checkpoint posted');
});

t.test('a worker shard keeps posting checkpoints (the replacement after a crash starts from them)', async (t) => {
  const h = new ShardHarness(ROUTE, { shardId: 0, shardCount: 1 });
  t.teardown(() => h.close());
  const callId = 'worker-1@10.0.0.1';
  h.receive(invite({ callId, branch: 'z9hG4bK-inv-w', uri: 'sip:7000@127.0.0.1:5060' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 200, 'OK', `tt-${callId}`, ['Contact: <sip:uas@127.0.0.1:5080>']), CALLEE);
  t.ok(h.posted.some((p) => p.t === 'dlg'), 'the confirmed dialog is checkpointed');
});
