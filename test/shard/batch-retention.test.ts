// A shard reads each run of messages from the main thread in place (one ArrayBuffer for the whole
// run): what it keeps beyond the batch (a ringing INVITE's context, a fork's final response, an
// unanswered BYE) must get bytes of its own (SipMessage.keepBytes), or every held call keeps a
// whole batch of other calls' messages alive. Checked with the garbage collector: each run's buffer
// is watched by a FinalizationRegistry while the calls it carried are still held.
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { SipRunWriter } from '../../lib/shard/sip-frames.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import type { SendTarget } from '../../lib/transport/types.js';
import { answer, CALLEE, CALLER, invite, ShardHarness } from '../helpers/shard-harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const ROUTE = { routes: [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] };
const at = (port: number): SendTarget => ({ transport: 'udp', address: '127.0.0.1', port });

const collected = new Set<string>();
const registry = new FinalizationRegistry<string>((label) => collected.add(label));

/** The messages as one packed run, handed over as the main thread does; its buffer is watched. */
function deliverRun(h: ShardHarness, label: string, messages: Array<[string, SendTarget]>): void {
  const w = new SipRunWriter();
  for (const [text, from] of messages) w.add(Buffer.from(text.replace(/\r?\n/g, '\r\n'), 'latin1'), from);
  const packed = w.close()!;
  registry.register(packed.b, label);
  h.runtime.handleBatch([packed]);
}

async function collectGarbage(): Promise<void> {
  for (let i = 0; i < 4; i++) {
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
  }
}

/** A request answered on the spot (a run always carries more than the message under test). */
function options(n: number): string {
  return [
    'OPTIONS sip:127.0.0.1:5060 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-opt${n}`, 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=o1', 'To: <sip:127.0.0.1:5060>', `Call-ID: opt-${n}`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', '',
  ].join('\n');
}

function bye(callId: string, toTag: string): string {
  return [
    'BYE sip:callee@127.0.0.1:5080 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye-${callId}`, 'Max-Forwards: 70',
    'Route: <sip:127.0.0.1:5060;lr>', 'From: <sip:caller@127.0.0.9>;tag=ft1', `To: <sip:9000@127.0.0.1:5060>;tag=${toTag}`,
    `Call-ID: ${callId}`, 'CSeq: 2 BYE', 'Content-Length: 0', '', '',
  ].join('\n');
}

function register(user: string, auth?: string): string {
  return [
    'REGISTER sip:127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-reg' + (auth === undefined ? '1' : '2'), 'Max-Forwards: 70',
    `From: <sip:${user}@127.0.0.1>;tag=r1`, `To: <sip:${user}@127.0.0.1>`, 'Call-ID: reg-1', `CSeq: ${auth === undefined ? 1 : 2} REGISTER`,
    `Contact: <sip:${user}@127.0.0.1:5070>`, ...(auth === undefined ? [] : [`Authorization: ${auth}`]), 'Expires: 600', 'Content-Length: 0', '', '',
  ].join('\n');
}

t.test('held calls keep no run of the main thread alive', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  const core = h.runtime.core;

  // a call that rings: its INVITE stays in the response context
  const sdp = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n';
  const inviteWithBody = invite({ callId: 'ring-1', branch: 'z9hG4bK-ring1', extra: ['Content-Type: application/sdp'] })
    .replace('Content-Length: 0\n\n', `Content-Length: ${sdp.length}\n\n`) + sdp.replace(/\r\n/g, '\n');
  deliverRun(h, 'invite', [[inviteWithBody, CALLER], [options(1), CALLER]]);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  t.equal(fwd.msg.body.toString('latin1').replace(/\r\n/g, '\n'), sdp.replace(/\r\n/g, '\n'), 'the forwarded INVITE carries the SDP');
  deliverRun(h, 'ringing', [[answer(fwd.msg, 180, 'Ringing', 'u1'), CALLEE], [options(2), CALLER]]);

  // a call answered and then a BYE the callee does not answer (its context waits for Timer F)
  deliverRun(h, 'second call', [[invite({ callId: 'ans-1', branch: 'z9hG4bK-ans1' }), CALLER], [options(3), CALLER]]);
  const fwd2 = h.take().filter((s) => s.msg.isRequest && s.msg.callId === 'ans-1')[0]!;
  deliverRun(h, 'answer', [[answer(fwd2.msg, 200, 'OK', 'u2', ['Contact: <sip:callee@127.0.0.1:5080>']), CALLEE], [options(4), CALLER]]);
  deliverRun(h, 'bye', [[bye('ans-1', 'u2'), CALLER], [options(5), CALLER]]);

  // a fork: one phone busy (its 486 is kept as the branch's final), the other still ringing
  h.runtime.applyBinding({
    aor: 'sip:101@127.0.0.1',
    bindings: [6001, 6002].map((port, i) => ({
      contact: `sip:101@127.0.0.1:${port}`, expiresAt: h.clock.now() + 3600_000, q: 1 - i / 2, callId: `r${port}`, cseq: 1,
      source: { transport: 'udp' as const, address: '127.0.0.1', port, connId: 0 },
    })),
  });
  deliverRun(h, 'fork', [[invite({ callId: 'fork-1', branch: 'z9hG4bK-fork1', uri: 'sip:101@127.0.0.1' }), CALLER], [options(6), CALLER]]);
  const forks = h.take().filter((s) => s.msg.isRequest && s.msg.callId === 'fork-1');
  t.same(forks.map((s) => s.to.port).sort(), [6001, 6002], 'forked to both phones');
  deliverRun(h, 'busy', [[answer(forks.find((s) => s.to.port === 6001)!.msg, 486, 'Busy Here', 'b1'), at(6001)], [options(7), CALLER]]);
  deliverRun(h, 'fork ringing', [[answer(forks.find((s) => s.to.port === 6002)!.msg, 180, 'Ringing', 'b2'), at(6002)], [options(8), CALLER]]);

  // a registration: challenged, then answered with credentials
  const user = h.runtime.init.config.users[0]!;
  deliverRun(h, 'register', [[register(user.username), CALLER], [options(9), CALLER]]);
  const challenge = h.take().find((s) => s.msg.status === 401)!.msg.get('www-authenticate')!;
  const auth = answerChallenge(challenge, { username: user.username, password: user.password, method: 'REGISTER', uri: 'sip:127.0.0.1' });
  deliverRun(h, 'register with credentials', [[register(user.username, auth), CALLER], [options(10), CALLER]]);
  const registered = h.take().filter((s) => s.msg.callId === 'reg-1');
  t.same(registered.map((s) => s.msg.status), [200], 'registered');

  // a control: a view the test keeps holds its run, so the check can tell
  const w = new SipRunWriter();
  w.add(Buffer.from(options(11).replace(/\r?\n/g, '\r\n'), 'latin1'), CALLER);
  const kept = w.close()!;
  registry.register(kept.b, 'kept by the test');

  await collectGarbage();
  t.equal(core.contextCount, 3, 'the ringing call, the BYE and the fork still have their contexts');
  t.ok(h.runtime.dialogs.stats().confirmed >= 1, 'the answered call is a confirmed dialog');
  for (const label of ['invite', 'ringing', 'second call', 'answer', 'bye', 'fork', 'busy', 'fork ringing', 'register', 'register with credentials']) {
    t.ok(collected.has(label), `the run with the ${label} is collected`);
  }
  t.notOk(collected.has('kept by the test'), 'a run still referenced is not');
  t.equal(new Uint8Array(kept.b)[0], 0, '(the control stays referenced until here)');

  // what was kept still works from its own bytes: the ringing call is cancelled, the fork answered
  deliverRun(h, 'cancel', [[[
    'CANCEL sip:9000@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-ring1', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', 'To: <sip:9000@127.0.0.1:5060>', 'Call-ID: ring-1', 'CSeq: 1 CANCEL', 'Content-Length: 0', '', '',
  ].join('\n'), CALLER]]);
  const cancelled = h.take();
  t.ok(cancelled.some((s) => s.msg.method === 'CANCEL' && s.to.port === CALLEE.port), 'CANCEL built from the kept INVITE goes downstream');
  t.match(cancelled.find((s) => s.msg.method === 'CANCEL')!.raw, /^CANCEL sip:9000@127\.0\.0\.1:5080 SIP\/2\.0\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:5060;branch=z9hG4bK/);
  deliverRun(h, 'fork answered', [[answer(forks.find((s) => s.to.port === 6002)!.msg, 200, 'OK', 'b2', ['Contact: <sip:101@127.0.0.1:6002>']), at(6002)]]);
  t.ok(h.take().some((s) => s.msg.status === 200 && s.to.port === CALLER.port && s.msg.callId === 'fork-1'), 'the fork answer goes upstream');
});
