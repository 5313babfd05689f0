// A challenge to a non-INVITE ends its server transaction at once (RFC 3261 8.2.7): nothing is held
// for Timer J, and a retransmitted REGISTER is challenged afresh. The authenticated REGISTER's 200
// and an INVITE's 407 keep theirs (the 200 is re-sent to a retransmission; the ACK of the 407 is
// hop by hop and must find its transaction).
import t from 'tap';
import { answerChallenge } from '../../lib/sip/digest.js';
import { CALLER, invite, ShardHarness } from '../helpers/shard-harness.js';

const register = (branch: string, cseq: number, auth?: string): string => [
  'REGISTER sip:127.0.0.1:5060 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=${branch}`, 'Max-Forwards: 70',
  'From: <sip:100@127.0.0.1>;tag=r1', 'To: <sip:100@127.0.0.1>', 'Call-ID: reg-1', `CSeq: ${cseq} REGISTER`,
  'Contact: <sip:100@127.0.0.1:5070>', ...(auth === undefined ? [] : [`Authorization: ${auth}`]), 'Expires: 600', 'Content-Length: 0', '', '',
].join('\n');

t.test('REGISTER: the 401 leaves no transaction, a retransmission gets a fresh nonce, the 200 is absorbed as usual', async (t) => {
  const h = new ShardHarness();
  t.teardown(() => h.close());
  h.receive(register('z9hG4bK-r1', 1), CALLER);
  const first = h.take();
  t.same(first.map((s) => s.msg.status), [401]);
  t.equal(h.runtime.report().transactions, 0, 'no transaction held for the challenge');
  t.equal(h.runtime.timers.size, 0, 'no Timer J');

  h.receive(register('z9hG4bK-r1', 1), CALLER); // the same request again: its 401 was lost
  const again = h.take();
  t.same(again.map((s) => s.msg.status), [401], 'challenged again');
  const nonce = (s: typeof first[number]): string | undefined => /nonce="([^"]+)"/.exec(s.msg.getAll('www-authenticate')[0] ?? '')?.[1];
  t.not(nonce(again[0]!), nonce(first[0]!), 'with a fresh nonce');
  t.equal(h.runtime.stats.retransmissionsAbsorbed, 0);

  const creds = answerChallenge(first[0]!.msg.getAll('www-authenticate').find((c) => /MD5/.test(c))!,
    { username: '100', password: 'demo100pass', method: 'REGISTER', uri: 'sip:127.0.0.1:5060' });
  const authed = register('z9hG4bK-r2', 2, creds);
  h.receive(authed, CALLER);
  const ok = h.take();
  t.same(ok.map((s) => s.msg.status), [200], 'the answer to the first challenge still registers');
  t.equal(h.runtime.report().transactions, 1, "the 200's transaction is held (Timer J)");
  h.receive(authed, CALLER);
  t.same(h.take().map((s) => s.raw), ok.map((s) => s.raw), 'a retransmission gets the same 200');
  t.equal(h.runtime.stats.retransmissionsAbsorbed, 1);
  h.advance(32_000);
  t.equal(h.runtime.report().transactions, 0, 'ended by Timer J');
});

t.test("an INVITE's 407 keeps its transaction: the ACK is absorbed there", async (t) => {
  const h = new ShardHarness({ routes: [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] });
  t.teardown(() => h.close());
  const text = invite({ callId: 'c407', branch: 'z9hG4bK-i407' }).replace('From: <sip:caller@127.0.0.9>;tag=ft1', 'From: <sip:100@127.0.0.1>;tag=ft1');
  h.receive(text, CALLER);
  const r = h.take().find((s) => s.msg.status >= 200)!;
  t.equal(r.msg.status, 407);
  t.equal(h.runtime.report().transactions, 1);
  const ack = [
    'ACK sip:9000@127.0.0.1:5060 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-i407', 'Max-Forwards: 70',
    'From: <sip:100@127.0.0.1>;tag=ft1', `To: ${r.msg.get('to')}`, 'Call-ID: c407', 'CSeq: 1 ACK', 'Content-Length: 0', '', '',
  ].join('\n');
  h.receive(ack, CALLER);
  t.same(h.take(), [], 'the ACK goes nowhere');
  h.advance(500);
  t.same(h.take(), [], 'and the 407 is not retransmitted (Timer G stopped by the ACK)');
});
