// A REGISTER handled on one shard makes the binding visible to every shard: an INVITE whose
// Call-ID hashes to another shard still reaches the phone. Real sockets, real worker threads.
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { answerChallenge } from '../../lib/sip/digest.js';
import { shardFor } from '../../lib/shard/hash.js';
import { startTestProxy } from '../helpers/proxy-harness.js';

function nextMessage(sock: Socket, match: (text: string) => boolean, ms = 3000): Promise<string> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => { sock.off('message', on); reject(new Error('timed out waiting for a message')); }, ms);
    const on = (data: Buffer): void => {
      const text = data.toString('latin1');
      if (!match(text)) return;
      clearTimeout(timer);
      sock.off('message', on);
      resolve(text);
    };
    sock.on('message', on);
  });
}

async function udp(): Promise<Socket> {
  const s = createSocket('udp4');
  await new Promise<void>((r) => s.bind(0, '127.0.0.1', r));
  return s;
}

function callIdOnShard(shard: number, shards: number, prefix: string): string {
  for (let i = 0; ; i++) if (shardFor(`${prefix}-${i}`, shards) === shard) return `${prefix}-${i}`;
}

t.test('a binding registered on one shard routes an INVITE handled by another', async (t) => {
  const proxy = await startTestProxy({ workers: 2 });
  t.teardown(() => proxy.close());
  const phone = await udp();
  const caller = await udp();
  t.teardown(() => { phone.close(); caller.close(); });
  const phonePort = phone.address().port;
  const regCallId = callIdOnShard(0, 2, 'reg');
  const inviteCallId = callIdOnShard(1, 2, 'inv');

  const register = (cseq: number, auth?: string): string => [
    `REGISTER sip:127.0.0.1:${proxy.udpPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${phonePort};branch=z9hG4bK-reg${cseq};rport`,
    'Max-Forwards: 70', 'From: <sip:101@127.0.0.1>;tag=r1', 'To: <sip:101@127.0.0.1>',
    `Call-ID: ${regCallId}`, `CSeq: ${cseq} REGISTER`, `Contact: <sip:101@127.0.0.1:${phonePort}>`, 'Expires: 600',
    ...(auth === undefined ? [] : [`Authorization: ${auth}`]), 'Content-Length: 0', '', '',
  ].join('\r\n');
  phone.send(register(1), proxy.udpPort, '127.0.0.1');
  const challenge = await nextMessage(phone, (m) => m.startsWith('SIP/2.0 401'));
  const wwwAuth = /\r\nWWW-Authenticate: ([^\r]+)/.exec(challenge)![1]!;
  const creds = answerChallenge(wwwAuth, { username: '101', password: 'demo101pass', method: 'REGISTER', uri: `sip:127.0.0.1:${proxy.udpPort}` });
  phone.send(register(2, creds), proxy.udpPort, '127.0.0.1');
  const ok = await nextMessage(phone, (m) => /^SIP\/2\.0 \d{3}/.test(m) && m.includes('CSeq: 2 REGISTER'));
  t.match(ok, /^SIP\/2\.0 200 OK/);
  t.match(ok, new RegExp(`Contact: <sip:101@127\\.0\\.0\\.1:${phonePort}>;expires=600`));

  // replication goes through the main thread; once its replica has the binding, the update is
  // queued to every shard ahead of any message that arrives later, so the INVITE cannot overtake it
  for (let i = 0; i < 300 && proxy.location.store.lookup('sip:101@127.0.0.1', Date.now()).length === 0; i++) {
    await new Promise((r) => setTimeout(r, 10));
  }
  const inv = [
    `INVITE sip:101@127.0.0.1:${proxy.udpPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${caller.address().port};branch=z9hG4bK-inv1;rport`,
    'Max-Forwards: 70', 'From: <sip:outsider@127.0.0.9>;tag=c1', 'To: <sip:101@127.0.0.1>',
    `Call-ID: ${inviteCallId}`, 'CSeq: 1 INVITE', `Contact: <sip:outsider@127.0.0.1:${caller.address().port}>`, 'Content-Length: 0', '', '',
  ].join('\r\n');
  const arrival = nextMessage(phone, (m) => m.startsWith('INVITE '));
  caller.send(inv, proxy.udpPort, '127.0.0.1');
  const got = await arrival;
  t.match(got, new RegExp(`^INVITE sip:101@127\\.0\\.0\\.1:${phonePort} SIP/2\\.0`), 'Request-URI is the registered contact');
  t.match(got, /\r\nRecord-Route: <sip:127\.0\.0\.1:\d+;lr>/);
  t.equal(proxy.location.store.lookup('sip:101@127.0.0.1', Date.now()).length, 1, 'main-thread replica holds the binding');
});
