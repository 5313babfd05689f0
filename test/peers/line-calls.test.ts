// Calls on a line, in-thread: out with the line's identity and parameters, the provider's 407
// answered with the line's credentials while the caller sees one call, CSeq kept consistent end to
// end for the ACK and the BYE; calls arriving on the line go to its user.
import t from 'tap';
import { CALLER, invite, ShardHarness, type Sent } from '../helpers/shard-harness.js';
import { PROVIDER, providerAuth, reply } from '../helpers/provider.js';

const LINE = { name: 'prov', registrar: `sip:127.0.0.1:${PROVIDER.port}`, username: 'acct1', password: 'linepass', domain: 'provider.example', register: false };
const ROUTES = [{ prefix: '0', line: 'prov', strip: 1, prepend: '+86' }];

function harness(line: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): ShardHarness {
  return new ShardHarness({ locale: 'zh', lines: [{ ...LINE, ...line }], routes: ROUTES, auth: { invite: false }, ...extra });
}

const toProvider = (out: Sent[], method: string): Sent[] => out.filter((s) => s.msg.isRequest && s.msg.method === method && s.to.port === PROVIDER.port);
const toCaller = (out: Sent[]): Sent[] => out.filter((s) => !s.msg.isRequest && s.to.port === CALLER.port);

function inDialog(method: string, cseq: number, callId: string, toTag: string, route: string): string {
  return [
    `${method} sip:x@127.0.0.1:${PROVIDER.port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-${method}${cseq}`,
    'Max-Forwards: 70', `Route: ${route}`,
    'From: <sip:caller@127.0.0.9>;tag=ft1', `To: <sip:01390108888@127.0.0.1:5060>;tag=${toTag}`,
    `Call-ID: ${callId}`, `CSeq: ${cseq} ${method}`, 'Content-Length: 0', '', '',
  ].join('\n');
}

t.test('407 from the provider: re-sent with credentials and CSeq + 1; the caller sees one call and its own CSeq', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  const auth = providerAuth({ acct1: 'linepass' }, ['MD5']);
  h.receive(invite({ callId: 'lc1', branch: 'z9hG4bK-lc1', uri: 'sip:01390108888@127.0.0.1:5060' }), CALLER);
  let out = h.take();
  const [inv1] = toProvider(out, 'INVITE');
  t.ok(inv1, 'INVITE to the provider');
  t.equal(inv1!.msg.uri, 'sip:+861390108888@provider.example;user=phone', 'strip, prepend, line domain, user=phone once (locale zh)');
  t.match(inv1!.msg.get('from'), /^<sip:acct1@provider\.example>;tag=ft1$/, "the line's identity, the caller's tag");
  t.equal(inv1!.msg.get('cseq'), '1 INVITE');

  h.receive(reply(inv1!.msg, 407, 'Proxy Authentication Required', auth.challengeHeaders(true, false, inv1!.msg.callId).map(([n, v]) => `${n}: ${v}`), 'pt1'), PROVIDER);
  out = h.take();
  t.equal(toProvider(out, 'ACK').length, 1, 'the 407 is ACKed hop by hop');
  t.equal(toCaller(out).filter((s) => s.msg.status >= 200).length, 0, 'the caller sees no 407');
  const [inv2] = toProvider(out, 'INVITE');
  t.ok(inv2, 'INVITE re-sent');
  t.equal(inv2!.msg.callId, 'lc1');
  t.equal(inv2!.msg.get('cseq'), '2 INVITE', 'CSeq + 1 (RFC 3261 22.2)');
  t.equal(inv2!.msg.uri, inv1!.msg.uri);
  t.not(inv2!.msg.getAll('via')[0], inv1!.msg.getAll('via')[0], 'a new branch');
  t.same(auth.verify(inv2!.msg, true), { ok: true, username: 'acct1' }, 'the provider accepts the digest');

  h.receive(reply(inv2!.msg, 180, 'Ringing', [], 'pt1'), PROVIDER);
  h.receive(reply(inv2!.msg, 200, 'OK', ['Contact: <sip:gw@127.0.0.1:5099>'], 'pt1'), PROVIDER);
  out = toCaller(h.take());
  t.same(out.map((s) => s.msg.status), [180, 200]);
  for (const r of out) {
    t.equal(r.msg.get('cseq'), '1 INVITE', `${r.msg.status} carries the caller's CSeq`);
    t.equal(r.msg.get('from'), '<sip:caller@127.0.0.9>;tag=ft1', `${r.msg.status} carries the caller's From`);
  }
  const rr = out[1]!.msg.get('record-route')!;

  h.receive(inDialog('ACK', 1, 'lc1', 'pt1', rr), CALLER);
  const [ack] = toProvider(h.take(), 'ACK');
  t.equal(ack?.msg.get('cseq'), '2 ACK', 'the 2xx ACK matches the re-sent INVITE');

  h.receive(inDialog('BYE', 2, 'lc1', 'pt1', rr), CALLER);
  const [bye] = toProvider(h.take(), 'BYE');
  t.equal(bye?.msg.get('cseq'), '3 BYE', 'later requests keep the offset');
  t.match(bye?.msg.get('from'), /^<sip:acct1@provider\.example>;tag=ft1$/);
  h.receive(reply(bye!.msg, 200, 'OK'), PROVIDER);
  const [ok] = toCaller(h.take());
  t.equal(ok?.msg.get('cseq'), '2 BYE', "the BYE's 200 carries the caller's CSeq");
  t.equal(h.runtime.peers.legs.size, 0, 'the leg ends with the dialog');
});

t.test('a second challenge fails the call with 403, not a loop of challenges', async (t) => {
  const h = harness({ password: 'wrong' });
  t.teardown(() => h.close());
  const auth = providerAuth({ acct1: 'linepass' }, ['MD5']);
  h.receive(invite({ callId: 'lc2', branch: 'z9hG4bK-lc2', uri: 'sip:0123@127.0.0.1:5060' }), CALLER);
  const [inv1] = toProvider(h.take(), 'INVITE');
  h.receive(reply(inv1!.msg, 401, 'Unauthorized', auth.challengeHeaders(false, false, inv1!.msg.callId).map(([n, v]) => `${n}: ${v}`), 'pt2'), PROVIDER);
  const [inv2] = toProvider(h.take(), 'INVITE');
  t.match(inv2!.msg.get('authorization'), /^Digest username="acct1"/);
  h.receive(reply(inv2!.msg, 401, 'Unauthorized', auth.challengeHeaders(false, false, inv2!.msg.callId).map(([n, v]) => `${n}: ${v}`), 'pt2'), PROVIDER);
  const out = h.take();
  t.equal(toProvider(out, 'INVITE').length, 0);
  t.same(toCaller(out).map((s) => s.msg.status), [403]);
});

t.test('Request-URI parameters of INVITE on the line: explicit empty and locale en carry none', async (t) => {
  for (const [name, line, locale] of [['explicit empty', { requestUriParams: '' }, 'zh'], ['locale en', {}, 'en']] as const) {
    const h = harness(line, { locale });
    h.receive(invite({ callId: `lp-${locale}`, branch: `z9hG4bK-lp${locale}`, uri: 'sip:0123@127.0.0.1:5060' }), CALLER);
    const [inv] = toProvider(h.take(), 'INVITE');
    t.equal(inv?.msg.uri, 'sip:+86123@provider.example', name);
    h.close();
  }
});

t.test('a call arriving on the line goes to its inbound user', async (t) => {
  const h = harness({ inboundUser: '101' });
  t.teardown(() => h.close());
  h.runtime.applyBinding({ aor: 'sip:101@127.0.0.1', bindings: [{ contact: 'sip:101@127.0.0.1:5081', expiresAt: h.clock.t + 3600_000, q: 1, callId: 'r', cseq: 1, source: { transport: 'udp', address: '127.0.0.1', port: 5081, connId: 0 } }] });
  const uri = 'sip:acct1@127.0.0.1:5060;line=prov';
  h.receive(invite({ callId: 'in1', branch: 'z9hG4bK-in1', uri }), PROVIDER);
  const fwd = h.take().filter((s) => s.msg.isRequest && s.msg.method === 'INVITE');
  t.equal(fwd.length, 1);
  t.equal(fwd[0]!.msg.uri, 'sip:101@127.0.0.1:5081');
  t.equal(fwd[0]!.to.port, 5081);
});
