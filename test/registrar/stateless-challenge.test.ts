// The main thread's 401 to a credential-less REGISTER: the shard's own 401 byte for byte but for
// the nonce and the To tag, a nonce the shard accepts (nc replay still refused), and everything
// unusual left to the shard.
import t from 'tap';
import { createStatelessChallenger, StatelessChallenger } from '../../lib/registrar/stateless-challenge.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import { parseMessage } from '../../lib/sip/parser.js';
import type { SendTarget } from '../../lib/transport/types.js';
import { PROXY_PORT, ShardHarness } from '../helpers/shard-harness.js';
import { testConfig, type ConfigOverrides } from '../helpers/proxy-harness.js';
import type { Config } from '../../lib/config/schema.js';

const UA: SendTarget = { transport: 'udp', address: '127.0.0.1', port: 5070 };
const LISTENERS = [{ transport: 'udp' as const, address: '127.0.0.1', port: PROXY_PORT }];

interface Reg { uri?: string; to?: string; via?: string[]; callId?: string; cseq?: string; extra?: string[] }

function register(r: Reg = {}): string {
  return [
    `REGISTER ${r.uri ?? 'sip:127.0.0.1'} SIP/2.0`,
    ...(r.via ?? ['SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-reg1;rport']).map((v) => `Via: ${v}`),
    'Max-Forwards: 70',
    'From: "Alice" <sip:100@127.0.0.1>;tag=f1a2',
    `To: ${r.to ?? '"Alice" <sip:100@127.0.0.1>'}`,
    `Call-ID: ${r.callId ?? 'reg-call-1@10.0.0.5'}`,
    `CSeq: ${r.cseq ?? '1 REGISTER'}`,
    'Contact: <sip:100@10.0.0.5:5070>',
    'Expires: 3600',
    'User-Agent: test-ua/1.0',
    ...(r.extra ?? []),
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
}

/** A shard and a challenger sharing one config and nonce secret, as startProxy makes them. */
function pair(overrides: ConfigOverrides = {}): { shard: ShardHarness; challenger: StatelessChallenger } {
  const shard = new ShardHarness(overrides);
  const challenger = createStatelessChallenger(switchedOn(shard.runtime.init.config), LISTENERS, shard.runtime.init.nonceSecret);
  if (challenger === undefined) throw new Error('challenger off');
  return { shard, challenger };
}

const challenge = (c: StatelessChallenger, text: string, from = UA) => c.challenge(Buffer.from(text, 'latin1'), from);

/** The nonce and the To tag are fresh in every 401: masked for comparison. */
function masked(raw: string): string {
  return raw.replace(/nonce="[^"]*"/g, 'nonce="N"').replace(/^(To: [^\r\n]*;tag=)[^\r\n;]*/m, '$1T');
}


/** The option is off by default (see the README's REGISTER figures): these tests switch it on. */
function switchedOn(config: Config): Config {
  return { ...config, registrar: { ...config.registrar, statelessChallenge: true } };
}

t.test('the bytes of the 401: Via stamped, From/To(+tag)/Call-ID/CSeq copied, one challenge per algorithm', async (t) => {
  const { shard, challenger } = pair();
  t.teardown(() => shard.close());
  const res = challenge(challenger, register());
  t.ok(res, 'answered');
  const raw = res!.toString('latin1');
  t.equal(masked(raw), [
    'SIP/2.0 401 Unauthorized',
    'Via: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-reg1;rport=5070;received=127.0.0.1',
    'From: "Alice" <sip:100@127.0.0.1>;tag=f1a2',
    'To: "Alice" <sip:100@127.0.0.1>;tag=T',
    'Call-ID: reg-call-1@10.0.0.5',
    'CSeq: 1 REGISTER',
    'WWW-Authenticate: Digest realm="sipshard", nonce="N", algorithm=SHA-256, qop="auth"',
    'WWW-Authenticate: Digest realm="sipshard", nonce="N", algorithm=MD5, qop="auth"',
    'Content-Length: 0',
    '', '',
  ].join('\r\n'));
  const nonces = [...raw.matchAll(/nonce="([^"]*)"/g)].map((m) => m[1]);
  t.equal(nonces.length, 2);
  t.equal(nonces[0], nonces[1], 'both challenges share one nonce (as the shard does)');
  t.match(nonces[0], /^[A-Za-z0-9_-]{43}$/);
  const again = challenge(challenger, register())!.toString('latin1');
  t.not(/nonce="([^"]*)"/.exec(again)![1], nonces[0], 'a fresh nonce each time');
  t.not(/^To: .*;tag=(.*)$/m.exec(again)![1], /^To: .*;tag=(.*)$/m.exec(raw)![1], 'a fresh To tag each time');
});

t.test("the shard's own 401 to the same REGISTER is the same header for header", async (t) => {
  const { shard, challenger } = pair();
  t.teardown(() => shard.close());
  for (const text of [
    register(),
    register({ via: ['SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-reg2'], callId: 'other@x' }), // no rport asked, no received needed
    register({ uri: 'sip:localhost', to: '<sip:101@LOCALHOST>', callId: 'lh@x', via: ['SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-lh;rport'], extra: ['Supported: path, outbound', 'Allow: INVITE, ACK'] }),
    register({ via: ['SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-reg3', 'SIP/2.0/UDP 10.9.9.9:5060;branch=z9hG4bK-sbc'], callId: 'via2@x' }),
    // two Via values on one line, then a second line
    register({ via: ['SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-reg7;rport , SIP/2.0/UDP 10.9.9.8;branch=z9hG4bK-x', 'SIP/2.0/TCP 10.9.9.7;branch=z9hG4bK-y'], callId: 'via3@x' }),
    // compact forms, odd spacing, a folded From: written back as the shard writes them
    [
      'REGISTER sip:127.0.0.1 SIP/2.0',
      'v:  SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-cmp;rport=5070',
      'f: <sip:102@127.0.0.1>',
      '  ;tag=fold',
      't:<sip:102@127.0.0.1>',
      'i: compact@x',
      'CSeq:   7   REGISTER',
      'm: <sip:102@10.0.0.5>',
      'l: 0',
      '', '',
    ].join('\r\n'),
  ]) {
    shard.receive(text, UA);
    shard.runtime.flush();
    const fromShard = shard.take();
    t.equal(fromShard.length, 1, 'the shard answers once');
    t.equal(fromShard[0]!.msg.status, 401);
    t.equal(masked(challenge(challenger, text)!.toString('latin1')), masked(fromShard[0]!.raw));
  }
});

t.test('the shard accepts the nonce issued here: 200 and a binding; a replayed nc is refused', async (t) => {
  const { shard, challenger } = pair();
  t.teardown(() => shard.close());
  shard.clock.t = Date.now(); // the nonce carries the main thread's wall clock
  const first = parseMessage(challenge(challenger, register())!).message;
  const sha = first.getAll('www-authenticate')[0]!;
  const authorization = answerChallenge(sha, { username: '100', password: 'demo100pass', method: 'REGISTER', uri: 'sip:127.0.0.1', cnonce: 'c1', nc: 1 });
  const second = register({ cseq: '2 REGISTER', via: ['SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-reg4;rport'], extra: [`Authorization: ${authorization}`] });
  t.equal(challenge(challenger, second), undefined, 'credentials go to the shard');
  shard.receive(second, UA);
  shard.runtime.flush();
  const ok = shard.take();
  t.equal(ok[0]?.msg.status, 200);
  t.match(ok[0]!.msg.get('contact'), /^<sip:100@10\.0\.0\.5:5070>;expires=/);
  t.equal(shard.runtime.location.lookup('sip:100@127.0.0.1', shard.clock.t).length, 1, 'the binding is stored');
  // the same Authorization again (a new transaction): nc 1 was used, so stale
  const replay = register({ cseq: '3 REGISTER', via: ['SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-reg5;rport'], extra: [`Authorization: ${authorization}`] });
  shard.receive(replay, UA);
  shard.runtime.flush();
  const refused = shard.take();
  t.equal(refused[0]?.msg.status, 401);
  t.match(refused[0]!.msg.get('www-authenticate'), /stale=true/);
  // a nonce bound to another Call-ID does not pass either
  const moved = register({ callId: 'elsewhere@x', cseq: '4 REGISTER', via: ['SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-reg6;rport'], extra: [`Authorization: ${authorization.replace('nc=00000001', 'nc=00000002')}`] });
  shard.receive(moved, UA);
  shard.runtime.flush();
  t.equal(shard.take()[0]?.msg.status, 401);
});

t.test('anything unusual is left to the shard', async (t) => {
  const { shard, challenger } = pair();
  t.teardown(() => shard.close());
  const cases: Record<string, string> = {
    'credentials': register({ extra: ['Authorization: Digest username="100", realm="other"'] }),
    'Proxy-Require': register({ extra: ['Proxy-Require: foo'] }),
    'Require': register({ extra: ['Require: path'] }),
    'Route': register({ extra: ['Route: <sip:10.1.1.1;lr>'] }),
    'To with a tag': register({ to: '<sip:100@127.0.0.1>;tag=x' }),
    'foreign AOR domain': register({ to: '<sip:100@example.org>' }),
    'tel: To': register({ to: '<tel:+15551234>' }),
    'foreign Request-URI': register({ uri: 'sip:example.org' }),
    'Request-URI with a user': register({ uri: 'sip:100@127.0.0.1' }),
    'tel: Request-URI': register({ uri: 'tel:+15551234' }),
    'Max-Forwards 0': register().replace('Max-Forwards: 70', 'Max-Forwards: 0'),
    'CSeq method mismatch': register({ cseq: '1 INVITE' }),
    'duplicate Call-ID': register({ extra: ['Call-ID: second@x'] }),
    'no Call-ID': register().replace(/^Call-ID:.*\r\n/m, ''),
    'bad Via': register({ via: ['SIP/2.0/UDP'] }),
    'our own Via below (a loop)': register({ via: ['SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-a', `SIP/2.0/UDP 127.0.0.1:${PROXY_PORT};branch=z9hG4bK-b`] }),
    'not a REGISTER': register().replace('REGISTER sip', 'OPTIONS sip').replace('1 REGISTER', '1 OPTIONS'),
    'lower-case method': register().replace('REGISTER sip', 'register sip'),
    'SIP/3.0': register().replace('SIP/2.0\r\n', 'SIP/3.0\r\n'),
    'truncated': register().slice(0, 60),
  };
  for (const [name, text] of Object.entries(cases)) t.equal(challenge(challenger, text), undefined, name);
  t.ok(challenge(challenger, register()), 'the plain one is answered (control)');
});

t.test('a configured trunk: only From hosts of ours are challenged here', async (t) => {
  const trunk = { name: 'carrier', addresses: ['198.51.100.20:5060'], domains: ['carrier.example'] };
  const config = testConfig({ trunks: [trunk] } as ConfigOverrides);
  const c = createStatelessChallenger(switchedOn(config), LISTENERS, Buffer.alloc(32, 7))!;
  t.ok(challenge(c, register()), 'From in our domain');
  t.equal(challenge(c, register().replace('From: "Alice" <sip:100@127.0.0.1>', 'From: <sip:100@carrier.example>')), undefined, 'From a trunk may claim');
});

t.test('off unless registrar.statelessChallenge and auth.register are both on', async (t) => {
  const base = testConfig();
  const secret = Buffer.alloc(32, 1);
  t.equal(createStatelessChallenger(base, LISTENERS, secret), undefined, 'default: off');
  t.ok(createStatelessChallenger(switchedOn(base), LISTENERS, secret), 'switched on');
  t.equal(createStatelessChallenger({ ...base, registrar: { ...base.registrar, statelessChallenge: false } }, LISTENERS, secret), undefined);
  t.equal(createStatelessChallenger(switchedOn({ ...base, auth: { ...base.auth, register: false } }), LISTENERS, secret), undefined);
});
