// A line keeps itself registered at its provider: digest answer (checked by a real authenticator),
// refresh before expiry, back-off after failures, Request-URI parameters by locale.
import t from 'tap';
import { ShardHarness, type Sent } from '../helpers/shard-harness.js';
import { PROVIDER, providerAuth, reply } from '../helpers/provider.js';
import { retryDelayMs, RETRY_BASE_MS } from '../../lib/peers/line-registration.js';
import type { LineState } from '../../lib/peers/peer-state.js';

const LINE = { name: 'prov', registrar: `sip:127.0.0.1:${PROVIDER.port}`, username: 'acct1', password: 'linepass', domain: 'provider.example' };

function harness(line: Record<string, unknown> = {}, extra: Record<string, unknown> = {}): ShardHarness {
  const h = new ShardHarness({ lines: [{ ...LINE, ...line }], ...extra });
  h.runtime.flush();
  return h;
}

function registers(h: ShardHarness): Sent[] {
  return h.take().filter((s) => s.msg.method === 'REGISTER' && s.msg.isRequest);
}

function lineState(h: ShardHarness): LineState {
  return h.runtime.peers.states.get('prov') as LineState;
}

t.test('REGISTER, 401, digest checked by the provider, 200: registered, refreshed before expiry', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  const auth = providerAuth({ acct1: 'linepass' });
  const [first] = registers(h);
  t.ok(first, 'a REGISTER goes out at start');
  t.same({ address: first!.to.address, port: first!.to.port }, { address: '127.0.0.1', port: PROVIDER.port });
  t.equal(first!.msg.uri, `sip:127.0.0.1:${PROVIDER.port}`, 'locale en: no user=phone');
  t.match(first!.msg.get('from'), /^<sip:acct1@provider\.example>;tag=/);
  t.equal(first!.msg.get('to'), '<sip:acct1@provider.example>');
  t.match(first!.msg.get('contact'), /^<sip:acct1@127\.0\.0\.1:5060;line=prov>$/);
  t.equal(first!.msg.get('expires'), '3600');
  t.equal(lineState(h).state, 'registering');

  h.receive(reply(first!.msg, 401, 'Unauthorized', auth.challengeHeaders(false, false, first!.msg.callId).map(([n, v]) => `${n}: ${v}`)), PROVIDER);
  const [second] = registers(h);
  t.ok(second, 'the challenge is answered');
  t.equal(second!.msg.callId, first!.msg.callId, 'same Call-ID');
  t.equal(second!.msg.get('cseq'), '2 REGISTER', 'CSeq + 1');
  t.match(second!.msg.get('authorization'), /algorithm=SHA-256/, 'the topmost challenge (SHA-256) answered');
  t.same(auth.verify(second!.msg, false), { ok: true, username: 'acct1' }, 'the provider accepts the digest');

  h.receive(reply(second!.msg, 200, 'OK', [`Contact: ${second!.msg.get('contact')};expires=600`]), PROVIDER);
  const s = lineState(h);
  t.equal(s.state, 'registered');
  t.equal(s.lastStatus, 200);
  t.equal(s.expiresAt, h.clock.t + 600_000, 'granted expiry from the Contact');

  h.advance(539_000);
  t.equal(registers(h).length, 0, 'no refresh too early');
  h.advance(1_100);
  const [refresh] = registers(h);
  t.ok(refresh, 'refreshed a minute before expiry');
  t.equal(refresh!.msg.callId, first!.msg.callId, 'refresh keeps the Call-ID (RFC 3261 10.2.4)');
  t.equal(refresh!.msg.get('cseq'), '3 REGISTER');
});

t.test('MD5-only provider is answered with MD5', async (t) => {
  const h = harness({ authUsername: 'auth-acct' });
  t.teardown(() => h.close());
  const auth = providerAuth({ 'auth-acct': 'linepass' }, ['MD5']);
  const [first] = registers(h);
  h.receive(reply(first!.msg, 407, 'Proxy Authentication Required', auth.challengeHeaders(true, false, first!.msg.callId).map(([n, v]) => `${n}: ${v}`)), PROVIDER);
  const [second] = registers(h);
  t.match(second!.msg.get('proxy-authorization'), /username="auth-acct".*algorithm=MD5/);
  t.same(auth.verify(second!.msg, true), { ok: true, username: 'auth-acct' });
});

t.test('a wrong password: failed with the last status, retried with growing back-off', async (t) => {
  const h = harness({ password: 'wrong' });
  t.teardown(() => h.close());
  const auth = providerAuth({ acct1: 'linepass' });
  const challenge = (req: Sent): void => h.receive(reply(req.msg, 401, 'Unauthorized', auth.challengeHeaders(false, false, req.msg.callId).map(([n, v]) => `${n}: ${v}`)), PROVIDER);
  let [req] = registers(h);
  challenge(req!);
  [req] = registers(h);
  t.equal(auth.verify(req!.msg, false).ok, false, 'the provider refuses the digest');
  challenge(req!);
  t.equal(registers(h).length, 0, 'a second challenge is not answered again');
  t.match(lineState(h), { state: 'failed', lastStatus: 401, failures: 1 });
  h.advance(Math.floor(RETRY_BASE_MS * 0.8) - 20);
  t.equal(registers(h).length, 0, 'no retry before the back-off');
  h.advance(Math.ceil(RETRY_BASE_MS * 0.4) + 40);
  const [retry] = registers(h);
  t.ok(retry, 'retried after ~5 s');
  t.notOk(retry!.msg.has('authorization'), 'a retry starts without credentials');
});

t.test('no answer: failed with 408, back-off doubles with jitter up to the cap', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  registers(h);
  h.advance(32_000 + 10);
  t.match(lineState(h), { state: 'failed', lastStatus: 408, failures: 1 });
  t.equal(retryDelayMs(1, 0.5), 5_000);
  t.equal(retryDelayMs(2, 0.5), 10_000);
  t.equal(retryDelayMs(3, 0), 16_000, '-20% jitter');
  t.equal(retryDelayMs(3, 1), 24_000, '+20% jitter');
  t.equal(retryDelayMs(30, 0.5), 300_000, 'capped');
});

t.test('423 Interval Too Brief: asked again with Min-Expires', async (t) => {
  const h = harness({ expires: 60 });
  t.teardown(() => h.close());
  const [first] = registers(h);
  h.receive(reply(first!.msg, 423, 'Interval Too Brief', ['Min-Expires: 600']), PROVIDER);
  const [second] = registers(h);
  t.equal(second!.msg.get('expires'), '600');
});

t.test('Request-URI parameters of REGISTER by locale and setting', async (t) => {
  const cases: Array<[string, Record<string, unknown>, string, string]> = [
    ['locale zh: user=phone by default', {}, 'zh', `sip:127.0.0.1:${PROVIDER.port};user=phone`],
    ['locale zh-CN: user=phone by default', {}, 'zh-CN', `sip:127.0.0.1:${PROVIDER.port};user=phone`],
    ['locale zh, explicit empty: none', { requestUriParams: '' }, 'zh', `sip:127.0.0.1:${PROVIDER.port}`],
    ['locale en: none', {}, 'en', `sip:127.0.0.1:${PROVIDER.port}`],
    ['locale en, several params', { requestUriParams: 'user=phone;x-acct=7' }, 'en', `sip:127.0.0.1:${PROVIDER.port};user=phone;x-acct=7`],
    ['a param the registrar URI has is not duplicated', { registrar: `sip:127.0.0.1:${PROVIDER.port};user=phone` }, 'zh', `sip:127.0.0.1:${PROVIDER.port};user=phone`],
  ];
  for (const [name, line, locale, uri] of cases) {
    const h = harness(line, { locale });
    const [req] = registers(h);
    t.equal(req?.msg.uri, uri, name);
    h.close();
  }
});

t.test('register: false sends nothing and leaves no state', async (t) => {
  const h = harness({ register: false });
  t.teardown(() => h.close());
  t.equal(registers(h).length, 0);
  t.equal(h.runtime.peers.states.get('prov'), undefined);
});

/** A line registered (401, digest, 200 granting 600 s) and its last REGISTER. */
function registered(h: ShardHarness, auth: ReturnType<typeof providerAuth>): Sent {
  const [first] = registers(h);
  h.receive(reply(first!.msg, 401, 'Unauthorized', auth.challengeHeaders(false, false, first!.msg.callId).map(([n, v]) => `${n}: ${v}`)), PROVIDER);
  const [second] = registers(h);
  h.receive(reply(second!.msg, 200, 'OK', [`Contact: ${second!.msg.get('contact')};expires=600`]), PROVIDER);
  return second!;
}

t.test('shutdown: the binding is removed with Expires: 0, the challenge answered, then nothing more is sent', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  const auth = providerAuth({ acct1: 'linepass' });
  const last = registered(h, auth);
  t.equal(lineState(h).state, 'registered');

  const done = h.runtime.peers.unregisterLines(4000);
  h.runtime.flush();
  const [bye] = registers(h);
  t.ok(bye, 'a REGISTER goes out');
  t.equal(bye!.msg.callId, last.msg.callId, 'same Call-ID as the registration (RFC 3261 10.2.2)');
  t.equal(bye!.msg.get('cseq'), '3 REGISTER', 'next CSeq');
  t.equal(bye!.msg.get('expires'), '0', 'Expires: 0 removes the binding');
  t.equal(bye!.msg.get('contact'), last.msg.get('contact'), 'for the Contact we registered');
  h.receive(reply(bye!.msg, 401, 'Unauthorized', auth.challengeHeaders(false, false, bye!.msg.callId).map(([n, v]) => `${n}: ${v}`)), PROVIDER);
  const [answered] = registers(h);
  t.ok(answered, 'the challenge is answered');
  t.equal(answered!.msg.get('expires'), '0');
  t.same(auth.verify(answered!.msg, false), { ok: true, username: 'acct1' });
  h.receive(reply(answered!.msg, 200, 'OK', []), PROVIDER);
  t.same(await done, [{ line: 'prov', status: 200 }]);
  t.match(lineState(h), { state: 'unregistered', lastStatus: 200, expiresAt: undefined });
  h.advance(700_000);
  t.equal(registers(h).length, 0, 'no refresh after the binding is removed');
});

t.test('shutdown: an unanswered removal gives up after the bound, a line never registered sends nothing', async (t) => {
  const h = harness();
  t.teardown(() => h.close());
  registered(h, providerAuth({ acct1: 'linepass' }));
  const done = h.runtime.peers.unregisterLines(4000);
  h.runtime.flush();
  t.equal(registers(h).length, 1, 'the Expires: 0 REGISTER');
  h.advance(4_100);
  t.same(await done, [{ line: 'prov', status: 408 }], 'reported as 408 after 4 s');
  t.match(lineState(h), { state: 'unregistered', lastStatus: 408, expiresAt: undefined }, 'shown as unregistered, not still registered');
  h.advance(700_000);
  t.equal(registers(h).filter((s) => s.msg.get('expires') !== '0').length, 0, 'and the line is stopped');

  const down = harness();
  t.teardown(() => down.close());
  t.equal(registers(down).length, 1, 'first REGISTER, never answered');
  t.same(await down.runtime.peers.unregisterLines(4000), [{ line: 'prov', status: null }], 'not registered: nothing to remove');
  t.equal(registers(down).length, 0, 'nothing sent');
});
