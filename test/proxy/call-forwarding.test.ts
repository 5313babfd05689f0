// Call forwarding in one shard, in-thread with a hand-moved clock: every rule (unconditional, busy,
// no-answer, unavailable), 3xx recursion, the 181 notice, Diversion and History-Info, the hop
// limit and loop stop, CANCEL from the caller, and the forwarded call as a normal call afterwards.
import t from 'tap';
import type { SendTarget } from '../../lib/transport/types.js';
import type { SipMessage } from '../../lib/sip/message.js';
import { answer, CALLER, invite, ShardHarness, type Sent } from '../helpers/shard-harness.js';

type Rules = Record<string, unknown>;

const PORTS: Record<string, number> = { userb: 6001, userc: 6002, userd: 6003, usere: 6004 };
const at = (user: string): SendTarget => ({ transport: 'udp', address: '127.0.0.1', port: PORTS[user]! });

function harness(rules: Record<string, Rules>, forwarding: Rules = {}, registered = ['userb', 'userc', 'userd', 'usere']): ShardHarness {
  const users = Object.keys(PORTS).map((u) => ({ username: u, password: `${u}-pass`, ...(rules[u] === undefined ? {} : { forwarding: rules[u] }) }));
  const h = new ShardHarness({ users, forwarding: { maxHops: 5, send181: true, followRedirects: true, diversion: true, historyInfo: false, ...forwarding } });
  const now = h.clock.now();
  for (const u of registered) {
    h.runtime.applyBinding({
      aor: `sip:${u}@127.0.0.1`,
      bindings: [{ contact: `sip:${u}@127.0.0.1:${PORTS[u]}`, expiresAt: now + 3600_000, q: 1, callId: `reg-${u}`, cseq: 1, source: { ...at(u), transport: 'udp', connId: 0 } }],
    });
  }
  return h;
}

const call = (callId: string, user = 'userb'): string => invite({ callId, branch: `z9hG4bK-${callId}`, uri: `sip:${user}@127.0.0.1:5060` });
const invitesTo = (out: Sent[], user: string): Sent[] => out.filter((s) => s.msg.method === 'INVITE' && s.to.port === PORTS[user]);
const upstream = (out: Sent[]): Sent[] => out.filter((s) => !s.msg.isRequest && s.to.port === CALLER.port);
const statuses = (out: Sent[]): number[] => upstream(out).map((s) => s.msg.status);
const callInfoLine = (s: Sent): string | undefined => /\r\nCall-Info: [^\r]*/.exec(s.raw)?.[0].slice(2);

/** Call userb and let B's phone answer `status`: what the proxy sent next (the forward, if any). */
function bAnswers(h: ShardHarness, callId: string, status = 486, reason = 'Busy Here'): Sent[] {
  h.receive(call(callId), CALLER);
  h.receive(answer(invitesTo(h.take(), 'userb')[0]!.msg, status, reason, 'tb'), at('userb'));
  return h.take();
}

function cancelOf(callId: string, user = 'userb'): string {
  return [
    `CANCEL sip:${user}@127.0.0.1:5060 SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${callId}`, 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', `To: <sip:${user}@127.0.0.1:5060>`, `Call-ID: ${callId}`, 'CSeq: 1 CANCEL', 'Content-Length: 0', '', '',
  ].join('\n');
}

t.test('unconditional: the phone never rings, 181 with the exact Call-Info, INVITE to C with Diversion', async (t) => {
  const h = harness({ userb: { unconditional: 'userc' } });
  t.teardown(() => h.close());
  h.receive(call('u1'), CALLER);
  const out = h.take();
  t.same(statuses(out), [100, 181]);
  t.equal(invitesTo(out, 'userb').length, 0, 'B does not ring');
  const r181 = upstream(out)[1]!;
  t.equal(callInfoLine(r181), 'Call-Info: purpose=forwarding, username="userb", contact="userc"', 'seed point 4, byte for byte');
  t.equal(r181.msg.reason, 'Call Is Being Forwarded');
  t.match(r181.msg.get('to'), /^<sip:userb@127\.0\.0\.1:5060>;tag=\S+$/, 'a To-tag');
  t.equal(r181.msg.get('via'), 'SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-u1', "the request's Via");
  t.equal(r181.msg.get('from'), '<sip:caller@127.0.0.9>;tag=ft1');
  t.equal(r181.msg.get('call-id'), 'u1');
  t.equal(r181.msg.get('cseq'), '1 INVITE');
  const fwd = invitesTo(out, 'userc');
  t.equal(fwd.length, 1, 'C gets the INVITE');
  t.equal(fwd[0]!.msg.uri, 'sip:userc@127.0.0.1:6002');
  t.equal(fwd[0]!.msg.get('to'), '<sip:userb@127.0.0.1:5060>', 'To stays what the caller dialled');
  t.same(fwd[0]!.msg.getAll('diversion'), ['<sip:userb@127.0.0.1>;reason=unconditional;counter=1']);
  t.equal(h.runtime.stats.forwardsUnconditional, 1);
  t.equal(h.runtime.stats.forwarding181Sent, 1);
});

t.test('busy: 486 from B is ACKed, not relayed; C is called with reason user-busy and answers', async (t) => {
  const h = harness({ userb: { busy: 'userc' } });
  t.teardown(() => h.close());
  h.receive(call('b1'), CALLER);
  const toB = invitesTo(h.take(), 'userb')[0]!;
  h.receive(answer(toB.msg, 486, 'Busy Here', 'tb'), at('userb'));
  const out = h.take();
  t.ok(out.find((s) => s.msg.method === 'ACK' && s.to.port === PORTS.userb), 'hop-by-hop ACK to B');
  t.same(statuses(out), [181], 'only the 181 goes up, not the 486');
  t.equal(callInfoLine(upstream(out)[0]!), 'Call-Info: purpose=forwarding, username="userb", contact="userc"');
  const toC = invitesTo(out, 'userc')[0]!;
  t.same(toC.msg.getAll('diversion'), ['<sip:userb@127.0.0.1>;reason=user-busy;counter=1']);
  h.receive(answer(toC.msg, 200, 'OK', 'tc', ['Contact: <sip:userc@127.0.0.1:6002>']), at('userc'));
  t.same(statuses(h.take()), [200]);
  t.equal(h.runtime.stats.forwardsUserBusy, 1);
  t.equal(h.runtime.dialogs.stats().confirmed, 1, 'the dialog with C is tracked');
});

t.test('600 Busy Everywhere also forwards on busy; a busy C without a rule ends the call 486', async (t) => {
  const h = harness({ userb: { busy: 'userc' } });
  t.teardown(() => h.close());
  const toC = invitesTo(bAnswers(h, 'b2', 600, 'Busy Everywhere'), 'userc')[0]!;
  t.ok(toC, '600 forwarded like 486');
  h.receive(answer(toC.msg, 486, 'Busy Here', 'tc'), at('userc'));
  t.same(statuses(h.take()), [486], 'the last hop answers, not the 600 of B');
});

t.test('no answer: after the configured seconds of ringing B is CANCELed and C called', async (t) => {
  const h = harness({ userb: { noAnswer: { target: 'userc', seconds: 2 } } });
  t.teardown(() => h.close());
  h.receive(call('n1'), CALLER);
  const toB = invitesTo(h.take(), 'userb')[0]!;
  h.advance(3000);
  t.equal(h.take().filter((s) => s.msg.method === 'CANCEL').length, 0, 'the clock starts at ringing, not at the INVITE');
  h.receive(answer(toB.msg, 180, 'Ringing', 'tb'), at('userb'));
  t.same(statuses(h.take()), [180]);
  h.advance(1900);
  t.equal(h.take().length, 0, 'still ringing B');
  h.advance(200);
  const out = h.take();
  const cancel = out.find((s) => s.msg.method === 'CANCEL');
  t.equal(cancel?.to.port, PORTS.userb, 'B is CANCELed');
  t.same(statuses(out), [181]);
  const toC = invitesTo(out, 'userc')[0]!;
  t.same(toC.msg.getAll('diversion'), ['<sip:userb@127.0.0.1>;reason=no-answer;counter=1']);
  h.receive(answer(cancel!.msg, 200, 'OK', 'tb'), at('userb'));
  h.receive(answer(toB.msg, 487, 'Request Terminated', 'tb'), at('userb'));
  const after = h.take();
  t.same(statuses(after), [], "B's 487 is absorbed");
  t.ok(after.find((s) => s.msg.method === 'ACK' && s.to.port === PORTS.userb), '487 ACKed');
  h.receive(answer(toC.msg, 200, 'OK', 'tc', ['Contact: <sip:userc@127.0.0.1:6002>']), at('userc'));
  t.same(statuses(h.take()), [200]);
  t.equal(h.runtime.stats.forwardsNoAnswer, 1);
});

t.test('unavailable: no binding forwards at once; so do 480, 503 and no response at all', async (t) => {
  const h = harness({ userb: { unavailable: 'userc' } }, {}, ['userc']);
  t.teardown(() => h.close());
  h.receive(call('a1'), CALLER);
  const out = h.take();
  t.same(statuses(out), [100, 181]);
  t.same(invitesTo(out, 'userc')[0]?.msg.getAll('diversion'), ['<sip:userb@127.0.0.1>;reason=unavailable;counter=1']);

  for (const [status, reason] of [[480, 'Temporarily Unavailable'], [503, 'Service Unavailable']] as const) {
    const h2 = harness({ userb: { unavailable: 'userc' } });
    h2.receive(call(`a${status}`), CALLER);
    h2.receive(answer(invitesTo(h2.take(), 'userb')[0]!.msg, status, reason, 'tb'), at('userb'));
    t.equal(invitesTo(h2.take(), 'userc').length, 1, `${status} forwards on unavailable`);
    h2.close();
  }
  const h3 = harness({ userb: { unavailable: 'userc' } });
  t.teardown(() => h3.close());
  h3.receive(call('a408'), CALLER);
  h3.take();
  h3.advance(32_100); // Timer B
  const late = h3.take();
  t.equal(invitesTo(late, 'userc').length, 1, 'no response (Timer B) forwards on unavailable');
  t.same(statuses(late), [181]);
});

t.test('302 from the callee: Contacts tried by q as deflection hops, each with its 181', async (t) => {
  const h = harness({});
  t.teardown(() => h.close());
  h.receive(call('r1'), CALLER);
  const toB = invitesTo(h.take(), 'userb')[0]!;
  h.receive(answer(toB.msg, 302, 'Moved Temporarily', 'tb', ['Contact: <sip:userc@127.0.0.1>;q=0.5, <sip:userd@127.0.0.1>;q=0.9']), at('userb'));
  const out = h.take();
  t.ok(out.find((s) => s.msg.method === 'ACK' && s.to.port === PORTS.userb), '302 ACKed');
  t.same(statuses(out), [181], 'the 302 is not relayed');
  t.equal(callInfoLine(upstream(out)[0]!), 'Call-Info: purpose=forwarding, username="userb", contact="userd"', 'highest q first');
  const toD = invitesTo(out, 'userd')[0]!;
  t.same(toD.msg.getAll('diversion'), ['<sip:userb@127.0.0.1>;reason=deflection;counter=1']);
  h.receive(answer(toD.msg, 486, 'Busy Here', 'td'), at('userd'));
  const next = h.take();
  t.equal(callInfoLine(upstream(next)[0]!), 'Call-Info: purpose=forwarding, username="userb", contact="userc"', 'then the next Contact');
  const toC = invitesTo(next, 'userc')[0]!;
  h.receive(answer(toC.msg, 200, 'OK', 'tc', ['Contact: <sip:userc@127.0.0.1:6002>']), at('userc'));
  t.same(statuses(h.take()), [200]);
  t.equal(h.runtime.stats.forwardsDeflection, 2);
});

t.test('followRedirects off: the 302 goes to the caller', async (t) => {
  const h = harness({}, { followRedirects: false });
  t.teardown(() => h.close());
  h.receive(call('r2'), CALLER);
  h.receive(answer(invitesTo(h.take(), 'userb')[0]!.msg, 302, 'Moved Temporarily', 'tb', ['Contact: <sip:userc@127.0.0.1>']), at('userb'));
  t.same(statuses(h.take()), [302]);
});

t.test('two hops: two 181s in order naming B->C then C->D; D sees both Diversions, newest on top', async (t) => {
  const h = harness({ userb: { unconditional: 'userc' }, userc: { busy: 'userd' } });
  t.teardown(() => h.close());
  h.receive(call('h2'), CALLER);
  const first = h.take();
  const toC = invitesTo(first, 'userc')[0]!;
  t.same(toC.msg.getAll('diversion'), ['<sip:userb@127.0.0.1>;reason=unconditional;counter=1'], 'what C receives');
  h.receive(answer(toC.msg, 486, 'Busy Here', 'tc'), at('userc'));
  const second = h.take();
  const notices = [...upstream(first), ...upstream(second)].filter((s) => s.msg.status === 181).map(callInfoLine);
  t.same(notices, [
    'Call-Info: purpose=forwarding, username="userb", contact="userc"',
    'Call-Info: purpose=forwarding, username="userc", contact="userd"',
  ]);
  const toD = invitesTo(second, 'userd')[0]!;
  t.same(toD.msg.getAll('diversion'), [
    '<sip:userc@127.0.0.1>;reason=user-busy;counter=1',
    '<sip:userb@127.0.0.1>;reason=unconditional;counter=1',
  ], 'what D receives (RFC 5806: newest first)');
  t.equal(toD.msg.count('diversion'), 2);
});

t.test('a cycle B->C->B ends with 482 and a Reason header, never a loop', async (t) => {
  const h = harness({ userb: { busy: 'userc' }, userc: { busy: 'userb' } });
  t.teardown(() => h.close());
  const toC = invitesTo(bAnswers(h, 'c1'), 'userc')[0]!;
  h.receive(answer(toC.msg, 486, 'Busy Here', 'tc'), at('userc'));
  const out = h.take();
  t.equal(invitesTo(out, 'userb').length, 0, 'B is not called again');
  const final = upstream(out).find((s) => s.msg.status >= 200)!;
  t.equal(final.msg.status, 482);
  t.equal(final.msg.get('reason'), 'SIP;cause=482;text="Call forwarding loop: userb -> userc -> userb"');
  t.equal(h.runtime.stats.forwardingLoops, 1);

  const u = harness({ userb: { unconditional: 'userc' }, userc: { unconditional: 'userb' } });
  t.teardown(() => u.close());
  u.receive(call('c2'), CALLER);
  const o = u.take();
  t.same(statuses(o), [100, 181, 482], 'unconditional both ways: one 181, then 482');
  t.equal(o.filter((s) => s.msg.method === 'INVITE').length, 0);
});

t.test('the hop limit ends the call with 480 and a Reason header; upstream Diversions count', async (t) => {
  const rules = { userb: { unconditional: 'userc' }, userc: { unconditional: 'userd' }, userd: { unconditional: 'usere' } };
  const h = harness(rules, { maxHops: 2 });
  t.teardown(() => h.close());
  h.receive(call('l1'), CALLER);
  const out = h.take();
  t.same(statuses(out), [100, 181, 181, 480]);
  const final = upstream(out)[3]!;
  t.equal(final.msg.get('reason'), 'SIP;cause=480;text="Too many forwarding hops (limit 2)"');
  t.equal(out.filter((s) => s.msg.method === 'INVITE').length, 0);

  const h2 = harness({ userb: { unconditional: 'userc' } }, { maxHops: 2 });
  t.teardown(() => h2.close());
  h2.receive(invite({ callId: 'l2', branch: 'z9hG4bK-l2', uri: 'sip:userb@127.0.0.1:5060', extra: ['Diversion: <sip:x@example.net>;reason=unconditional;counter=2'] }), CALLER);
  t.same(statuses(h2.take()), [100, 480], 'two diversions upstream already');
});

t.test('CANCEL from the caller cancels the branch that rings now (the forwarded one)', async (t) => {
  const h = harness({ userb: { busy: 'userc' } });
  t.teardown(() => h.close());
  const toC = invitesTo(bAnswers(h, 'x1'), 'userc')[0]!;
  h.receive(answer(toC.msg, 180, 'Ringing', 'tc'), at('userc'));
  t.same(statuses(h.take()), [180]);
  h.receive(cancelOf('x1'), CALLER);
  const out = h.take();
  const down = out.filter((s) => s.msg.method === 'CANCEL');
  t.same(down.map((s) => s.to.port), [PORTS.userc], 'CANCEL goes to C only');
  t.same(statuses(out), [200]);
  h.receive(answer(toC.msg, 487, 'Request Terminated', 'tc'), at('userc'));
  t.same(statuses(h.take()), [487]);
});

t.test('a CANCEL before the no-answer timer fires stops forwarding', async (t) => {
  const h = harness({ userb: { noAnswer: { target: 'userc', seconds: 2 } } });
  t.teardown(() => h.close());
  h.receive(call('x2'), CALLER);
  const toB = invitesTo(h.take(), 'userb')[0]!;
  h.receive(answer(toB.msg, 180, 'Ringing', 'tb'), at('userb'));
  h.receive(cancelOf('x2'), CALLER);
  h.receive(answer(toB.msg, 487, 'Request Terminated', 'tb'), at('userb'));
  h.take();
  h.advance(3000);
  t.equal(invitesTo(h.take(), 'userc').length, 0, 'no forward after the caller gave up');
});

t.test('the forwarded call is a normal call: 200, ACK, re-INVITE and BYE reach C end to end', async (t) => {
  const h = harness({ userb: { busy: 'userc' } });
  t.teardown(() => h.close());
  const toC = invitesTo(bAnswers(h, 'd1'), 'userc')[0]!;
  h.receive(answer(toC.msg, 200, 'OK', 'tc', ['Contact: <sip:userc@127.0.0.1:6002>', `Record-Route: ${toC.msg.get('record-route')}`]), at('userc'));
  const ok = upstream(h.take()).find((s) => s.msg.status === 200)!;
  t.ok(ok);
  const inDialog = (method: string, cseq: number, branch: string): string => [
    `${method} sip:userc@127.0.0.1:6002 SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}`, 'Max-Forwards: 70',
    `Route: ${ok.msg.get('record-route')}`, 'From: <sip:caller@127.0.0.9>;tag=ft1', `To: ${ok.msg.get('to')}`, 'Call-ID: d1',
    `CSeq: ${cseq} ${method}`, 'Contact: <sip:caller@127.0.0.1:5070>', 'Content-Length: 0', '', '',
  ].join('\n');
  h.receive(inDialog('ACK', 1, 'z9hG4bK-d1ack'), CALLER);
  t.equal(h.take().find((s) => s.msg.method === 'ACK')?.to.port, PORTS.userc, 'ACK to C');
  h.receive(inDialog('INVITE', 2, 'z9hG4bK-d1re'), CALLER);
  const re = invitesTo(h.take(), 'userc')[0]!;
  t.ok(re, 're-INVITE to C');
  t.equal(re.msg.count('diversion'), 0, 'no forwarding on in-dialog requests');
  h.receive(answer(re.msg, 200, 'OK', undefined, ['Contact: <sip:userc@127.0.0.1:6002>']), at('userc'));
  t.same(statuses(h.take()), [200]);
  h.receive(inDialog('BYE', 3, 'z9hG4bK-d1bye'), CALLER);
  const bye = h.take().find((s) => s.msg.method === 'BYE')!;
  t.equal(bye.to.port, PORTS.userc, 'BYE to C');
  h.receive(answer(bye.msg, 200, 'OK'), at('userc'));
  t.same(statuses(h.take()), [200]);
  t.equal(h.runtime.dialogs.stats().confirmed, 0, 'dialog ended');
});

t.test('a request inside a dialog (To-tag) is never forwarded, even to a user with rules', async (t) => {
  const h = harness({ userb: { unconditional: 'userc' } });
  t.teardown(() => h.close());
  h.receive(call('t9').replace('To: <sip:userb@127.0.0.1:5060>', 'To: <sip:userb@127.0.0.1:5060>;tag=old'), CALLER);
  const out = h.take();
  t.equal(invitesTo(out, 'userc').length, 0);
  t.equal(invitesTo(out, 'userb').length, 1, 'routed to the bindings as before');
  t.equal(invitesTo(out, 'userb')[0]!.msg.count('diversion'), 0);
});

t.test('History-Info (RFC 7044): index tree, rc for contacts, mp for the forward, Reason escaped', async (t) => {
  const h = harness({ userb: { busy: 'userc' } }, { historyInfo: true });
  t.teardown(() => h.close());
  h.receive(call('hi1'), CALLER);
  const toB = invitesTo(h.take(), 'userb')[0]!;
  t.same(toB.msg.getAll('history-info'), ['<sip:userb@127.0.0.1:5060>;index=1', '<sip:userb@127.0.0.1:6001>;index=1.1;rc=1']);
  h.receive(answer(toB.msg, 486, 'Busy Here', 'tb'), at('userb'));
  const toC = invitesTo(h.take(), 'userc')[0]!;
  t.same(toC.msg.getAll('history-info'), [
    '<sip:userb@127.0.0.1:5060>;index=1',
    '<sip:userb@127.0.0.1:6001?Reason=SIP%3Bcause%3D486%3Btext%3D%22Busy%20Here%22>;index=1.1;rc=1',
    '<sip:userc@127.0.0.1>;index=1.2;mp=1',
    '<sip:userc@127.0.0.1:6002>;index=1.2.1;rc=1.2',
  ]);
});

t.test('send181 off: forwarding happens without a 181; diversion off: no Diversion', async (t) => {
  const h = harness({ userb: { unconditional: 'userc' } }, { send181: false, diversion: false });
  t.teardown(() => h.close());
  h.receive(call('o1'), CALLER);
  const out = h.take();
  t.same(statuses(out), [100]);
  const toC = invitesTo(out, 'userc')[0]!;
  t.equal(toC.msg.count('diversion'), 0);
});

t.test('a forward to a number takes the static route; calls not to local users are untouched', async (t) => {
  const h = harness({ userb: { unconditional: '9123' } }, {}, []);
  t.teardown(() => h.close());
  const routes = [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 1, prepend: '' }];
  const h2 = new ShardHarness({ users: [{ username: 'userb', password: 'p', forwarding: { unconditional: '9123' } }], routes });
  t.teardown(() => h2.close());
  h2.receive(call('s1'), CALLER);
  const out = h2.take();
  const fwd = out.find((s) => s.msg.method === 'INVITE')!;
  t.equal(fwd.msg.uri, 'sip:123@127.0.0.1:5080');
  t.equal(fwd.to.port, 5080);
  t.equal(callInfoLine(upstream(out)[1]!), 'Call-Info: purpose=forwarding, username="userb", contact="9123"');
  h2.receive(invite({ callId: 's2', branch: 'z9hG4bK-s2', uri: 'sip:9555@127.0.0.1:5060' }), CALLER);
  const plain = h2.take().find((s) => s.msg.method === 'INVITE')!;
  t.equal(plain.msg.count('diversion'), 0);
  h2.receive(answer(plain.msg, 302, 'Moved', 'tt', ['Contact: <sip:userb@127.0.0.1>']), { transport: 'udp', address: '127.0.0.1', port: 5080 });
  t.same(statuses(h2.take()), [302], 'a 3xx from a static route is relayed as before');
  void h;
});

t.test('the per-user table can change while the shard runs (the shape an admin API will use)', async (t) => {
  const h = harness({});
  t.teardown(() => h.close());
  h.runtime.forwardingTable.set('userb', { unconditional: 'userd' });
  h.receive(call('t1'), CALLER);
  t.equal(invitesTo(h.take(), 'userd').length, 1);
  h.runtime.forwardingTable.set('userb', undefined);
  h.receive(call('t2'), CALLER);
  t.equal(invitesTo(h.take(), 'userb').length, 1);
  t.same(h.runtime.forwardingTable.snapshot(), {});
});

t.test('History-Info on an unconditional forward: the Reason goes on the entry of the user who forwarded', async (t) => {
  const h = harness({ userb: { unconditional: 'userc' } }, { historyInfo: true });
  t.teardown(() => h.close());
  h.receive(call('hi2'), CALLER);
  t.same(invitesTo(h.take(), 'userc')[0]?.msg.getAll('history-info'), [
    '<sip:userb@127.0.0.1:5060?Reason=SIP%3Bcause%3D302%3Btext%3D%22Moved%20Temporarily%22>;index=1',
    '<sip:userc@127.0.0.1>;index=1.1;mp=1',
    '<sip:userc@127.0.0.1:6002>;index=1.1.1;rc=1.1',
  ]);
});

t.test('forward counters appear in the shard report', async (t) => {
  const h = harness({ userb: { unconditional: 'userc' } });
  t.teardown(() => h.close());
  h.receive(call('k1'), CALLER);
  const c = h.runtime.report().counters;
  t.match(c, { forwardsUnconditional: 1, forwardsUserBusy: 0, forwardsNoAnswer: 0, forwardsUnavailable: 0, forwardsDeflection: 0, forwarding181Sent: 1, forwardingLoops: 0, forwardingHopLimits: 0 });
});

export type { SipMessage };
