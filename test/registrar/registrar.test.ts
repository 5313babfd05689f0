import t from 'tap';
import { DigestAuthenticator } from '../../lib/registrar/authenticator.js';
import type { ContactSource } from '../../lib/registrar/binding.js';
import { findContact, sameContactUri } from '../../lib/registrar/contact-match.js';
import { LocationStore } from '../../lib/registrar/location-store.js';
import { NonceManager } from '../../lib/registrar/nonce.js';
import { Registrar } from '../../lib/registrar/registrar.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import type { SipMessage } from '../../lib/sip/message.js';
import { parseMessage } from '../../lib/sip/parser.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
const AOR = 'sip:alice@example.com';
const SOURCE: ContactSource = { transport: 'tcp', address: '198.51.100.7', port: 40123, connId: 9 };

function setup(opts: { auth?: boolean; maxContacts?: number } = {}) {
  const clock = { ms: T0 };
  const store = new LocationStore();
  const users = new Map([['alice', { password: 'secret' }], ['bob', { password: 'hunter2' }]]);
  const auth = opts.auth === true
    ? new DigestAuthenticator({
      realm: 'example.com', algorithms: ['SHA-256', 'MD5'], passwordOf: (u) => users.get(u)?.password,
      nonces: new NonceManager({ secret: Buffer.alloc(32, 3), ttlSeconds: 300, now: () => clock.ms }),
    })
    : undefined;
  let tags = 0;
  const registrar = new Registrar({
    domains: ['Example.com'], auth, users, minExpires: 60, maxExpires: 7200, defaultExpires: 3600,
    maxContacts: opts.maxContacts ?? 5, store, now: () => clock.ms, toTag: () => `tag${++tags}`,
  });
  return { clock, store, registrar };
}

interface Reg { contacts?: string[]; expires?: string; callId?: string; cseq?: number; to?: string; extra?: string[] }

function register(r: Reg = {}): SipMessage {
  const text = [
    'REGISTER sip:example.com SIP/2.0',
    'Via: SIP/2.0/TCP 10.0.0.5:5060;branch=z9hG4bKnashds7',
    'Max-Forwards: 70',
    `To: ${r.to ?? 'Alice <sip:alice@example.com>'}`,
    'From: Alice <sip:alice@example.com>;tag=a73kszlfl',
    `Call-ID: ${r.callId ?? '1j9FpLxk3uxtm8tn@10.0.0.5'}`,
    `CSeq: ${r.cseq ?? 1} REGISTER`,
    ...(r.contacts ?? []).map((c) => `Contact: ${c}`),
    ...(r.expires === undefined ? [] : [`Expires: ${r.expires}`]),
    ...(r.extra ?? []),
    'Content-Length: 0', '', '',
  ].join('\r\n');
  return parseMessage(Buffer.from(text, 'latin1')).message;
}

const contactsOf = (res: SipMessage) => res.getAll('contact');

t.test('401 challenge, then 200 listing the binding; the update carries it with its source', async (t) => {
  const { registrar, store } = setup({ auth: true });
  const first = registrar.handle(register({ contacts: ['<sip:alice@10.0.0.5:5060;transport=tcp>'] }), SOURCE);
  t.equal(first.response.status, 401);
  t.equal(first.update, undefined);
  t.match(first.response.get('to'), /;tag=tag1$/);
  const challenges = first.response.getAll('www-authenticate');
  t.equal(challenges.length, 2);
  t.match(challenges[0], /algorithm=SHA-256/, 'SHA-256 first (RFC 8760)');

  const authorization = answerChallenge(challenges[0]!, { username: 'alice', password: 'secret', method: 'REGISTER', uri: 'sip:example.com' });
  const ok = registrar.handle(register({ cseq: 2, contacts: ['<sip:alice@10.0.0.5:5060;transport=tcp>'], extra: [`Authorization: ${authorization}`, 'User-Agent: Phone/1.0'] }), SOURCE);
  t.equal(ok.response.status, 200);
  t.same(contactsOf(ok.response), ['<sip:alice@10.0.0.5:5060;transport=tcp>;expires=3600']);
  t.equal(ok.response.get('date'), 'Tue, 02 Jan 2024 03:04:05 GMT');
  t.equal(ok.update?.aor, AOR);
  t.match(ok.update?.bindings, [{
    contact: 'sip:alice@10.0.0.5:5060;transport=tcp', expiresAt: T0 + 3_600_000, q: 1, callId: '1j9FpLxk3uxtm8tn@10.0.0.5',
    cseq: 2, source: SOURCE, userAgent: 'Phone/1.0',
  }]);
  t.same(store.lookup(AOR, T0), ok.update?.bindings, 'applied to the local replica');
});

t.test('wrong password and unknown user get the same 401; stale nonce gets stale=true', async (t) => {
  const { registrar, clock } = setup({ auth: true });
  const challenge = registrar.handle(register(), SOURCE).response.getAll('www-authenticate')[0]!;
  const answer = (username: string, password: string, to = `<sip:${username}@example.com>`) => registrar.handle(register({
    to, contacts: [`<sip:${username}@10.0.0.5>`],
    extra: [`Authorization: ${answerChallenge(challenge, { username, password, method: 'REGISTER', uri: 'sip:example.com' })}`],
  }), SOURCE).response;
  const shape = (res: SipMessage) => [res.status, res.reason, res.headers.map((h) => h.name), res.headers.filter((h) => h.name === 'www-authenticate').map((h) => h.value.replace(/nonce="[^"]+"/, ''))];
  const wrong = answer('alice', 'nope');
  const unknown = answer('mallory', 'nope');
  t.equal(wrong.status, 401);
  t.same(shape(unknown), shape(wrong));
  t.notMatch(wrong.get('www-authenticate'), /stale/);
  t.equal(answer('bob', 'hunter2', '<sip:alice@example.com>').status, 403, 'bob may not register alice');
  clock.ms += 301_000;
  const stale = answer('alice', 'secret');
  t.equal(stale.status, 401);
  t.match(stale.get('www-authenticate'), /, stale=true$/);
});

t.test('several contacts with their own expires and q', async (t) => {
  const { registrar } = setup();
  const res = registrar.handle(register({
    expires: '1800',
    contacts: ['<sip:alice@10.0.0.5>;expires=120;q=0.5', '"Desk" <sip:alice@10.0.0.6>, <sip:alice@10.0.0.7>;q=1.0'],
  }), SOURCE);
  t.equal(res.response.status, 200);
  t.same(contactsOf(res.response), [
    '<sip:alice@10.0.0.6>;expires=1800', '<sip:alice@10.0.0.7>;expires=1800', '<sip:alice@10.0.0.5>;expires=120;q=0.5',
  ]);
  t.equal(res.update?.bindings.length, 3);
});

t.test('a later REGISTER from another Call-ID adds to the set; the update is the full set', async (t) => {
  const { registrar, clock } = setup();
  registrar.handle(register({ contacts: ['<sip:alice@10.0.0.5>'] }), SOURCE);
  clock.ms += 10_000;
  const res = registrar.handle(register({ callId: 'other@10.0.0.9', contacts: ['<sip:alice@10.0.0.9>'] }), SOURCE);
  t.same(res.update?.bindings.map((b) => b.contact), ['sip:alice@10.0.0.5', 'sip:alice@10.0.0.9']);
  t.same(contactsOf(res.response), ['<sip:alice@10.0.0.9>;expires=3600', '<sip:alice@10.0.0.5>;expires=3590'], 'newest first at equal q');
});

t.test('refresh matches by URI equality, expires=0 removes one contact', async (t) => {
  const { registrar } = setup();
  registrar.handle(register({ contacts: ['<sip:alice@10.0.0.5:5060;transport=udp>', '<sip:alice@10.0.0.6>'] }), SOURCE);
  const refreshed = registrar.handle(register({ cseq: 2, expires: '600', contacts: ['<sip:alice@10.0.0.5:5060;TRANSPORT=UDP;ob>'] }), SOURCE);
  t.same(contactsOf(refreshed.response), ['<sip:alice@10.0.0.5:5060;TRANSPORT=UDP;ob>;expires=600', '<sip:alice@10.0.0.6>;expires=3600']);
  const removed = registrar.handle(register({ cseq: 3, contacts: ['<sip:alice@10.0.0.6>;expires=0'] }), SOURCE);
  t.same(removed.update?.bindings.map((b) => b.contact), ['sip:alice@10.0.0.5:5060;TRANSPORT=UDP;ob']);
});

t.test('Contact: * with Expires: 0 removes every binding; anything else with * is 400', async (t) => {
  const { registrar, store } = setup();
  registrar.handle(register({ contacts: ['<sip:alice@10.0.0.5>', '<sip:alice@10.0.0.6>'] }), SOURCE);
  t.equal(registrar.handle(register({ cseq: 2, contacts: ['*'], expires: '3600' }), SOURCE).response.status, 400);
  t.equal(registrar.handle(register({ cseq: 2, contacts: ['*'] }), SOURCE).response.status, 400, 'no Expires header');
  t.equal(registrar.handle(register({ cseq: 2, contacts: ['*', '<sip:alice@10.0.0.7>'], expires: '0' }), SOURCE).response.status, 400);
  t.equal(registrar.handle(register({ cseq: 1, contacts: ['*'], expires: '0' }), SOURCE).response.status, 500, 'same Call-ID, CSeq not higher');
  const res = registrar.handle(register({ cseq: 2, contacts: ['*'], expires: '0' }), SOURCE);
  t.equal(res.response.status, 200);
  t.same(contactsOf(res.response), []);
  t.same(res.update, { aor: AOR, bindings: [] });
  t.same(store.size(), { aors: 0, bindings: 0 });
});

t.test('too brief is 423 with Min-Expires; too long is clamped, even absurdly long', async (t) => {
  const { registrar, store } = setup();
  const brief = registrar.handle(register({ contacts: ['<sip:alice@10.0.0.5>', '<sip:alice@10.0.0.6>;expires=30'] }), SOURCE);
  t.equal(brief.response.status, 423);
  t.equal(brief.response.get('min-expires'), '60');
  t.equal(store.size().bindings, 0, 'nothing committed');
  const long = registrar.handle(register({ expires: '1' + '0'.repeat(100), contacts: ['<sip:alice@10.0.0.5>', '<sip:alice@10.0.0.6>;expires=86400'] }), SOURCE);
  t.same(contactsOf(long.response), ['<sip:alice@10.0.0.5>;expires=7200', '<sip:alice@10.0.0.6>;expires=7200']);
});

t.test('malformed expiry, q or Contact is 400', async (t) => {
  const { registrar } = setup();
  for (const r of [
    { expires: 'soon', contacts: ['<sip:alice@10.0.0.5>'] },
    { expires: '-1', contacts: ['<sip:alice@10.0.0.5>'] },
    { contacts: ['<sip:alice@10.0.0.5>;expires=1h'] },
    { contacts: ['<sip:alice@10.0.0.5>;q=1.5'] },
    { contacts: ['<sip:alice@10.0.0.5'] },
  ]) t.equal(registrar.handle(register(r), SOURCE).response.status, 400, JSON.stringify(r));
});

t.test('query: no Contact returns the bindings and changes nothing', async (t) => {
  const { registrar, clock } = setup();
  registrar.handle(register({ contacts: ['<sip:alice@10.0.0.5>'] }), SOURCE);
  clock.ms += 1_000;
  const q = registrar.handle(register({ cseq: 2 }), SOURCE);
  t.equal(q.response.status, 200);
  t.equal(q.update, undefined);
  t.same(contactsOf(q.response), ['<sip:alice@10.0.0.5>;expires=3599']);
  t.ok(q.response.has('date'));
});

t.test('RFC 3261 10.3 step 7: same Call-ID needs a higher CSeq, else the whole update fails', async (t) => {
  const { registrar, store } = setup();
  registrar.handle(register({ cseq: 5, contacts: ['<sip:alice@10.0.0.5>'] }), SOURCE);
  for (const cseq of [5, 4]) {
    const res = registrar.handle(register({ cseq, contacts: ['<sip:alice@10.0.0.6>', '<sip:alice@10.0.0.5>;expires=0'] }), SOURCE);
    t.equal(res.response.status, 500, `CSeq ${cseq}`);
    t.equal(res.update, undefined);
  }
  t.same(store.lookup(AOR, T0).map((b) => b.contact), ['sip:alice@10.0.0.5'], 'the new contact was not added either');
  const otherCallId = registrar.handle(register({ callId: 'x@y', cseq: 1, contacts: ['<sip:alice@10.0.0.5>;expires=0'] }), SOURCE);
  t.equal(otherCallId.response.status, 200, 'another Call-ID may replace it whatever its CSeq');
  t.same(otherCallId.update?.bindings, []);
});

t.test('more contacts than allowed is 403 Too Many Contacts', async (t) => {
  const { registrar } = setup({ maxContacts: 2 });
  registrar.handle(register({ contacts: ['<sip:alice@10.0.0.5>', '<sip:alice@10.0.0.6>'] }), SOURCE);
  const res = registrar.handle(register({ cseq: 2, contacts: ['<sip:alice@10.0.0.7>'] }), SOURCE);
  t.equal(res.response.status, 403);
  t.equal(res.response.reason, 'Too Many Contacts');
  const swap = registrar.handle(register({ cseq: 3, contacts: ['<sip:alice@10.0.0.7>', '<sip:alice@10.0.0.6>;expires=0'] }), SOURCE);
  t.equal(swap.response.status, 200, 'the limit applies to the resulting set');
});

t.test('AOR checks: foreign domain and unknown user are 404; Require we lack is 420', async (t) => {
  const { registrar } = setup();
  t.equal(registrar.handle(register({ to: '<sip:alice@elsewhere.net>', contacts: ['<sip:a@1.2.3.4>'] }), SOURCE).response.status, 404);
  t.equal(registrar.handle(register({ to: '<sip:carol@example.com>', contacts: ['<sip:c@1.2.3.4>'] }), SOURCE).response.status, 404);
  t.equal(registrar.handle(register({ to: '<sip:al%69ce@EXAMPLE.com:5060>', contacts: ['<sip:a@1.2.3.4>'] }), SOURCE).update?.aor, AOR);
  const req = registrar.handle(register({ contacts: ['<sip:a@1.2.3.4>'], extra: ['Require: path, foo'] }), SOURCE).response;
  t.equal(req.status, 420);
  t.equal(req.get('unsupported'), 'foo');
});

t.test('Path and RFC 5626 instance data are stored; Path echoed', async (t) => {
  const { registrar } = setup();
  const res = registrar.handle(register({
    contacts: ['<sip:alice@10.0.0.5;ob>;+sip.instance="<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>";reg-id=1'],
    extra: ['Path: <sip:edge1.example.com;lr>', 'Supported: path, outbound'],
  }), SOURCE);
  t.match(res.update?.bindings[0], { instance: '<urn:uuid:f81d4fae-7dec-11d0-a765-00a0c91e6bf6>', regId: 1, path: ['<sip:edge1.example.com;lr>'] });
  t.same(res.response.getAll('path'), ['<sip:edge1.example.com;lr>']);
});

t.test('Contact URI equality (RFC 3261 19.1.4)', async (t) => {
  t.ok(sameContactUri('sip:alice@EXAMPLE.com', 'sip:alice@example.com'), 'host case-insensitive');
  t.notOk(sameContactUri('sip:Alice@example.com', 'sip:alice@example.com'), 'user case-sensitive');
  t.ok(sameContactUri('sip:%61lice@example.com', 'sip:alice@example.com'), 'escapes');
  t.notOk(sameContactUri('sip:alice@example.com', 'sip:alice@example.com:5060'), 'default port is not no port');
  t.notOk(sameContactUri('sip:alice@example.com', 'sips:alice@example.com'));
  t.ok(sameContactUri('sip:alice@example.com;transport=TCP', 'sip:alice@example.com;transport=tcp'));
  t.notOk(sameContactUri('sip:alice@example.com;transport=udp', 'sip:alice@example.com;transport=tcp'));
  t.ok(sameContactUri('sip:alice@example.com;ob', 'sip:alice@example.com'), 'other params in one only are ignored');
  for (const p of ['user=phone', 'ttl=1', 'method=INVITE', 'maddr=239.255.255.1']) {
    t.notOk(sameContactUri(`sip:alice@example.com;${p}`, 'sip:alice@example.com'), p);
    t.notOk(sameContactUri('sip:alice@example.com', `sip:alice@example.com;${p}`), p);
  }
  t.notOk(sameContactUri('sip:alice@example.com?subject=x', 'sip:alice@example.com'), 'headers never ignored');
  t.ok(sameContactUri('sip:alice@example.com?a=1&b=2', 'sip:alice@example.com?b=2&a=1'));
});

t.test('findContact: the binding of the same URI, by its text or by URI equality', async (t) => {
  const set = [{ contact: 'sip:alice@10.0.0.5;transport=udp' }, { contact: 'sip:alice@10.0.0.6' }, { contact: 'sip:alice@10.0.0.7:5062' }];
  t.equal(findContact(set, 'sip:alice@10.0.0.7:5062'), 2, 'the same text, behind two others');
  t.equal(findContact(set, 'sip:alice@10.0.0.5;TRANSPORT=UDP;ob'), 0, 'written differently, the same URI');
  t.equal(findContact(set, 'sip:alice@10.0.0.7'), -1, 'no port is not port 5062');
  t.equal(findContact([], 'sip:alice@10.0.0.5'), -1);
  t.equal(findContact([{ contact: 'not a uri' }, { contact: 'sip:alice@10.0.0.6' }], 'sip:alice@10.0.0.6'), 1, 'a stored value that does not parse matches nothing');
});
