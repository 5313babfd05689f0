// Proxy behaviour of one shard, in-thread with a hand-moved clock (no sockets, no sleeps).
import t from 'tap';
import { answerChallenge } from '../../lib/sip/digest.js';
import { answer, CALLEE, CALLER, invite, ShardHarness } from '../helpers/shard-harness.js';

const ROUTE = { routes: [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] };

t.test('INVITE is answered 100 and forwarded with our Via, Record-Route and Max-Forwards - 1', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c1', branch: 'z9hG4bK-a1' }), CALLER);
  const out = h.take();
  const trying = out.find((s) => !s.msg.isRequest);
  const fwd = out.find((s) => s.msg.isRequest);
  t.equal(trying?.msg.status, 100);
  t.same(trying?.to, CALLER);
  t.ok(fwd);
  t.same({ address: fwd!.to.address, port: fwd!.to.port }, { address: CALLEE.address, port: CALLEE.port });
  t.equal(fwd!.msg.uri, 'sip:9000@127.0.0.1:5080');
  t.match(fwd!.msg.getAll('via')[0], /^SIP\/2\.0\/UDP 127\.0\.0\.1:5060;branch=z9hG4bK-/);
  t.equal(fwd!.msg.getAll('via').length, 2);
  t.equal(fwd!.msg.get('max-forwards'), '69');
  t.equal(fwd!.msg.get('record-route'), '<sip:127.0.0.1:5060;lr>');
});

t.test('Timer A retransmits the forwarded INVITE over UDP until a provisional arrives', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c2', branch: 'z9hG4bK-a2' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.advance(500);
  t.equal(h.take().filter((s) => s.msg.method === 'INVITE').length, 1, 'retransmit at T1');
  h.advance(1000);
  t.equal(h.take().filter((s) => s.msg.method === 'INVITE').length, 1, 'retransmit at 2*T1 later');
  h.receive(answer(fwd.msg, 180, 'Ringing', 'tt2'), CALLEE);
  const relayed = h.take();
  t.equal(relayed.length, 1);
  t.equal(relayed[0]!.msg.status, 180);
  t.equal(relayed[0]!.msg.getAll('via').length, 1, 'our Via removed');
  h.advance(8000);
  t.equal(h.take().filter((s) => s.msg.method === 'INVITE').length, 0, 'no retransmission after 1xx');
});

t.test('a response that comes back with only our Via is dropped and counted, not sent upstream without a Via', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c2v', branch: 'z9hG4bK-a2v' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  const full = answer(fwd.msg, 180, 'Ringing', 'tt2v');
  // the peer kept our Via and lost the caller's (RFC 3261 8.2.6.2 asks for all of them)
  const oursOnly = full.replace(/^Via: (?!SIP\/2\.0\/UDP 127\.0\.0\.1:5060;).*\n/m, '');
  t.equal((oursOnly.match(/^Via:/gm) ?? []).length, 1);
  h.receive(oursOnly, CALLEE);
  t.same(h.take(), [], 'nothing relayed');
  t.equal(h.runtime.stats.responsesWithoutUpstreamVia, 1);
  t.equal(h.runtime.stats.dropped, 1);
  h.advance(500);
  t.equal(h.take().filter((s) => s.msg.method === 'INVITE').length, 1, 'as if never received: Timer A still re-sends the INVITE');
  h.receive(full, CALLEE);
  const relayed = h.take();
  t.equal(relayed.length, 1, 'the same 180 with both Vias is relayed');
  t.same(relayed[0]!.msg.getAll('via'), [full.match(/^Via: (.*)$/gm)![1]!.slice(5)]);
});

t.test('a retransmitted INVITE is absorbed and answered with the last response', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  const inv = invite({ callId: 'c3', branch: 'z9hG4bK-a3' });
  h.receive(inv, CALLER);
  h.take();
  h.receive(inv, CALLER);
  const out = h.take();
  t.equal(out.length, 1);
  t.equal(out[0]!.msg.status, 100);
  t.equal(h.runtime.stats.retransmissionsAbsorbed, 1);
});

t.test('no answer at all: Timer B ends the branch and the caller gets 408', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c4', branch: 'z9hG4bK-a4' }), CALLER);
  h.take();
  h.advance(32_100);
  const finals = h.take().filter((s) => !s.msg.isRequest);
  t.equal(finals.length, 1);
  t.equal(finals[0]!.msg.status, 408);
  t.same(finals[0]!.to, CALLER);
});

t.test('non-2xx final: ACK generated downstream, caller ACK absorbed, 503 becomes 500', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c5', branch: 'z9hG4bK-a5' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 503, 'Service Unavailable', 'tt5'), CALLEE);
  const out = h.take();
  const ack = out.find((s) => s.msg.method === 'ACK');
  const up = out.find((s) => !s.msg.isRequest);
  t.ok(ack, 'hop-by-hop ACK sent downstream');
  t.equal(ack!.msg.getAll('via')[0], fwd.msg.getAll('via')[0], 'ACK reuses the INVITE branch');
  t.equal(up?.msg.status, 500, 'RFC 3261 16.7 step 6');
  const callerAck = [
    'ACK sip:9000@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-a5', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', `To: ${up!.msg.get('to')}`, 'Call-ID: c5', 'CSeq: 1 ACK', 'Content-Length: 0', '', '',
  ].join('\n');
  h.receive(callerAck, CALLER);
  t.equal(h.take().length, 0, 'ACK for a non-2xx is not forwarded');
});

t.test('CANCEL before any provisional: 200 and 487 at once, CANCEL downstream after the 180', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c6', branch: 'z9hG4bK-a6' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  const cancel = [
    'CANCEL sip:9000@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-a6', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', 'To: <sip:9000@127.0.0.1:5060>', 'Call-ID: c6', 'CSeq: 1 CANCEL', 'Content-Length: 0', '', '',
  ].join('\n');
  h.receive(cancel, CALLER);
  const out = h.take();
  t.same(out.filter((s) => !s.msg.isRequest).map((s) => `${s.msg.status} ${s.msg.cseq().method}`).sort(), ['200 CANCEL', '487 INVITE']);
  t.equal(out.filter((s) => s.msg.method === 'CANCEL').length, 0, 'RFC 3261 9.1: no CANCEL before a provisional');
  h.receive(answer(fwd.msg, 180, 'Ringing', 'tt6'), CALLEE);
  const after = h.take();
  const down = after.find((s) => s.msg.method === 'CANCEL');
  t.ok(down, 'CANCEL sent once the branch rang');
  t.equal(down!.msg.getAll('via')[0], fwd.msg.getAll('via')[0], 'CANCEL carries the INVITE branch');
  t.equal(after.filter((s) => !s.msg.isRequest).length, 0, 'the late 180 is not relayed after the final');
});

t.test('Max-Forwards 0 gets 483, unknown URI scheme 416, Proxy-Require 420 with Unsupported', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c7', branch: 'z9hG4bK-a7', maxForwards: 0 }), CALLER);
  t.equal(h.take()[0]?.msg.status, 483);
  h.receive(invite({ callId: 'c8', branch: 'z9hG4bK-a8', uri: 'http://example.com/x' }), CALLER);
  t.equal(h.take()[0]?.msg.status, 416);
  h.receive(invite({ callId: 'c9', branch: 'z9hG4bK-a9', extra: ['Proxy-Require: foo, bar'] }), CALLER);
  const r = h.take()[0]!;
  t.equal(r.msg.status, 420);
  t.equal(r.msg.get('unsupported'), 'foo, bar');
});

t.test('a request that comes back with our Via and the same loop hash gets 482', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c10', branch: 'z9hG4bK-a10' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  // the downstream hop routes it straight back with the same Request-URI: a loop, not a spiral
  const back = fwd.msg.clone();
  back.uri = 'sip:9000@127.0.0.1:5060';
  back.prepend('Via', 'SIP/2.0/UDP 127.0.0.1:5080;branch=z9hG4bK-back');
  back.remove('record-route');
  h.runtime.handleBatch([{ t: 'sip', d: back.toBuffer(), s: CALLEE }]);
  const out = h.take();
  t.equal(out.find((s) => !s.msg.isRequest)?.msg.status, 482);
});

t.test('forking: the best final wins (6xx over 4xx) and pending branches are cancelled on 6xx', async (t) => {
  const h = new ShardHarness();
  t.teardown(() => h.close());
  const now = h.clock.now();
  h.runtime.applyBinding({
    aor: 'sip:101@127.0.0.1',
    bindings: [
      { contact: 'sip:101@127.0.0.1:6001', expiresAt: now + 3600_000, q: 1, callId: 'r1', cseq: 1, source: { transport: 'udp', address: '127.0.0.1', port: 6001, connId: 0 } },
      { contact: 'sip:101@127.0.0.1:6002', expiresAt: now + 3600_000, q: 0.5, callId: 'r2', cseq: 1, source: { transport: 'udp', address: '127.0.0.1', port: 6002, connId: 0 } },
    ],
  });
  h.receive(invite({ callId: 'c11', branch: 'z9hG4bK-a11', uri: 'sip:101@127.0.0.1' }), CALLER);
  const fwds = h.take().filter((s) => s.msg.isRequest);
  t.same(fwds.map((s) => s.to.port).sort(), [6001, 6002], 'parallel fork to both contacts');
  const a = fwds.find((s) => s.to.port === 6001)!;
  const b = fwds.find((s) => s.to.port === 6002)!;
  h.receive(answer(b.msg, 180, 'Ringing', 'tb'), { transport: 'udp', address: '127.0.0.1', port: 6002 });
  h.receive(answer(a.msg, 486, 'Busy Here', 'ta'), { transport: 'udp', address: '127.0.0.1', port: 6001 });
  h.take();
  h.receive(answer(b.msg, 603, 'Decline', 'tb'), { transport: 'udp', address: '127.0.0.1', port: 6002 });
  const up = h.take().filter((s) => !s.msg.isRequest && s.msg.status >= 200);
  t.equal(up.length, 1);
  t.equal(up[0]!.msg.status, 603, 'RFC 3261 16.7 step 6: a 6xx beats a 4xx');
});

t.test('a call to a user with no binding gets 480, an unknown user 404', async (t) => {
  const h = new ShardHarness();
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'c12', branch: 'z9hG4bK-a12', uri: 'sip:102@127.0.0.1' }), CALLER);
  t.equal(h.take().find((s) => s.msg.status >= 200)?.msg.status, 480);
  h.receive(invite({ callId: 'c13', branch: 'z9hG4bK-a13', uri: 'sip:nobody@127.0.0.1' }), CALLER);
  t.equal(h.take().find((s) => s.msg.status >= 200)?.msg.status, 404);
});

t.test('an INVITE whose From is a local user is challenged with 407 (SHA-256 first)', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  const text = invite({ callId: 'c14', branch: 'z9hG4bK-a14' }).replace('From: <sip:caller@127.0.0.9>;tag=ft1', 'From: <sip:100@127.0.0.1>;tag=ft1');
  h.receive(text, CALLER);
  const r = h.take().find((s) => s.msg.status >= 200)!;
  t.equal(r.msg.status, 407);
  const challenges = r.msg.getAll('proxy-authenticate');
  t.match(challenges[0], /algorithm=SHA-256/);
  t.match(challenges[1], /algorithm=MD5/);
});

t.test('in-dialog requests sent to the proxy without Route follow the dialog (UAs ignoring Record-Route)', async (t) => {
  const h = new ShardHarness({ routes: [{ prefix: '7', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] });
  t.teardown(() => h.close());
  // dialled 9000 has no route here: only the dialog can tell where the BYE goes
  h.receive(invite({ callId: 'c15', branch: 'z9hG4bK-a15', uri: 'sip:7000@127.0.0.1:5060' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 200, 'OK', 'tt15', ['Contact: <sip:uas@127.0.0.1:5080>']), CALLEE);
  t.equal(h.take().find((s) => !s.msg.isRequest)?.msg.status, 200);
  t.equal(h.runtime.dialogs.stats().confirmed, 1);
  const bye = [
    'BYE sip:9999@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-bye15', 'Max-Forwards: 70',
    'From: <sip:caller@127.0.0.9>;tag=ft1', 'To: <sip:7000@127.0.0.1:5060>;tag=tt15', 'Call-ID: c15', 'CSeq: 2 BYE', 'Content-Length: 0', '', '',
  ].join('\n');
  h.receive(bye, CALLER);
  const byeFwd = h.take().find((s) => s.msg.method === 'BYE');
  t.ok(byeFwd, 'BYE forwarded');
  t.equal(byeFwd!.msg.uri, 'sip:uas@127.0.0.1:5080', 'Request-URI is the callee Contact');
  h.receive(answer(byeFwd!.msg, 200, 'OK'), CALLEE);
  t.equal(h.take().find((s) => !s.msg.isRequest)?.msg.status, 200);
  t.equal(h.runtime.dialogs.stats().confirmed, 0, 'dialog ended by the BYE');
});

t.test('an INVITE answering the 407 is forwarded without our credentials but with foreign ones', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  const base = invite({ callId: 'c16', branch: 'z9hG4bK-a16' }).replace('From: <sip:caller@127.0.0.9>;tag=ft1', 'From: <sip:100@127.0.0.1>;tag=ft1');
  h.receive(base, CALLER);
  const challenge = h.take().find((s) => s.msg.status === 407)!.msg.getAll('proxy-authenticate')[0]!;
  const creds = answerChallenge(challenge, { username: '100', password: 'demo100pass', method: 'INVITE', uri: 'sip:9000@127.0.0.1:5060' });
  const foreign = 'Digest username="x", realm="other.example", nonce="n", uri="sip:9000@127.0.0.1:5060", response="00"';
  const authed = invite({ callId: 'c16', branch: 'z9hG4bK-a16b', extra: [`Proxy-Authorization: ${creds}`, `Proxy-Authorization: ${foreign}`] })
    .replace('From: <sip:caller@127.0.0.9>;tag=ft1', 'From: <sip:100@127.0.0.1>;tag=ft1').replace('CSeq: 1 INVITE', 'CSeq: 2 INVITE');
  h.receive(authed, CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest);
  t.ok(fwd, 'forwarded after a correct answer');
  t.same(fwd!.msg.getAll('proxy-authorization'), [foreign], 'RFC 3261 22.3: only our own credentials removed');
});

t.test('a wrong password is challenged again, never forwarded', async (t) => {
  const h = new ShardHarness(ROUTE);
  t.teardown(() => h.close());
  const base = invite({ callId: 'c17', branch: 'z9hG4bK-a17' }).replace('From: <sip:caller@127.0.0.9>;tag=ft1', 'From: <sip:100@127.0.0.1>;tag=ft1');
  h.receive(base, CALLER);
  const challenge = h.take().find((s) => s.msg.status === 407)!.msg.getAll('proxy-authenticate')[0]!;
  const creds = answerChallenge(challenge, { username: '100', password: 'wrong', method: 'INVITE', uri: 'sip:9000@127.0.0.1:5060' });
  h.receive(base.replace('z9hG4bK-a17', 'z9hG4bK-a17b').replace('CSeq: 1 INVITE', `CSeq: 2 INVITE\nProxy-Authorization: ${creds}`), CALLER);
  const out = h.take();
  t.equal(out.filter((s) => s.msg.isRequest).length, 0);
  t.equal(out.find((s) => s.msg.status >= 200)?.msg.status, 407);
});
