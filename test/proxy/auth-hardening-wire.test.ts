// Digest hardening through the running proxy: a captured REGISTER replayed under a Call-ID of the
// other shard is refused (stale=true); unknown user and wrong password get the same answer; a
// source that keeps failing is banned while other sources are still served.
import t from 'tap';
import { answerChallenge } from '../../lib/sip/digest.js';
import { shardFor } from '../../lib/shard/hash.js';
import { UdpPeer } from '../helpers/child-proxy.js';
import { startTestProxy } from '../helpers/proxy-harness.js';

t.setTimeout(30_000);

function register(pp: number, phone: number, callId: string, cseq: number, user: string, auth?: string): string {
  return [
    `REGISTER sip:127.0.0.1:${pp} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${phone};branch=z9hG4bK-${callId.replace(/\W/g, '')}-${cseq};rport`,
    'Max-Forwards: 70', `From: <sip:${user}@127.0.0.1>;tag=r`, `To: <sip:${user}@127.0.0.1>`, `Call-ID: ${callId}`, `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${user}@127.0.0.1:${phone}>`, ...(auth === undefined ? [] : [`Authorization: ${auth}`]), 'Content-Length: 0', '', ''].join('\r\n');
}

const callIdOn = (shard: number, prefix: string): string => {
  for (let i = 0; ; i++) if (shardFor(`${prefix}-${i}`, 2) === shard) return `${prefix}-${i}`;
};

async function answerOf(p: UdpPeer, callId: string, cseq: number): Promise<string> {
  const match = (m: string): boolean => m.includes(`Call-ID: ${callId}\r\n`) && m.includes(`CSeq: ${cseq} REGISTER`);
  await p.until((r) => r.some(match));
  return p.received.find(match)!;
}

t.test('replay across shards, enumeration, back-off', async (t) => {
  const proxy = await startTestProxy({ workers: 2, security: { maxAuthFailures: 5, authWindowSeconds: 60, authBanSeconds: 60 } });
  t.teardown(() => proxy.close());
  const pp = proxy.udpPort;
  const phone = await UdpPeer.open();
  const attacker = await UdpPeer.open('127.0.0.3');
  t.teardown(() => { phone.close(); attacker.close(); });
  const uri = `sip:127.0.0.1:${pp}`;

  const c0 = callIdOn(0, 'reg');
  phone.send(register(pp, phone.port, c0, 1, '100'), pp);
  const www = /\r\nWWW-Authenticate: ([^\r]+)/.exec(await answerOf(phone, c0, 1))![1]!;
  const creds = answerChallenge(www, { username: '100', password: 'demo100pass', method: 'REGISTER', uri });
  phone.send(register(pp, phone.port, c0, 2, '100', creds), pp);
  t.match(await answerOf(phone, c0, 2), /^SIP\/2\.0 200 /, 'the real REGISTER succeeds');

  const c1 = callIdOn(1, 'replay');
  attacker.send(register(pp, attacker.port, c1, 3, '100', creds), pp);
  const replayed = await answerOf(attacker, c1, 3);
  t.match(replayed, /^SIP\/2\.0 401 /, 'the captured Authorization under a Call-ID of the other shard is refused');
  t.match(replayed, /stale=true/, 'as stale (a genuine client would just retry)');

  // user enumeration: same status, same header names, same reason for unknown user and wrong password
  const shape = (m: string): string => m.replace(/nonce="[^"]+"/g, 'N').replace(/tag=[^;\r]+/g, 'T').replace(/Call-ID: [^\r]+|CSeq: [^\r]+|Via: [^\r]+|From: [^\r]+|To: [^\r]+|Contact: [^\r]+/g, '');
  const cu = callIdOn(0, 'enum-u');
  const cw = callIdOn(0, 'enum-w');
  phone.send(register(pp, phone.port, cu, 1, 'nosuchuser', answerChallenge(www, { username: 'nosuchuser', password: 'x', method: 'REGISTER', uri })), pp);
  phone.send(register(pp, phone.port, cw, 1, '101', answerChallenge(www, { username: '101', password: 'x', method: 'REGISTER', uri })), pp);
  const [unknown, wrong] = [await answerOf(phone, cu, 1), await answerOf(phone, cw, 1)];
  t.match(wrong, /^SIP\/2\.0 401 /);
  t.equal(shape(unknown), shape(wrong), 'unknown user and wrong password are answered alike');

  // back-off: the attacker guesses passwords; after 5 failures it is banned, the phone is not
  for (let i = 0; i < 8; i++) {
    attacker.send(register(pp, attacker.port, `guess-${i}`, 1, '102', answerChallenge(www, { username: '102', password: `guess${i}`, method: 'REGISTER', uri })), pp);
    await new Promise((r) => setTimeout(r, 30));
  }
  await new Promise((r) => setTimeout(r, 300));
  t.equal(proxy.guard.stats.authBans, 1, 'the guessing source was banned once');
  t.ok(proxy.guard.isBanned('127.0.0.3'));
  const answered = attacker.received.filter((m) => m.includes('Call-ID: guess-')).length;
  t.ok(answered <= 7, `answers stopped once banned (${answered} of 8 guesses answered)`);
  const c2 = callIdOn(1, 'after');
  phone.send(register(pp, phone.port, c2, 1, '100'), pp);
  t.match(await answerOf(phone, c2, 1), /^SIP\/2\.0 401 /, 'other sources are still served');
});
