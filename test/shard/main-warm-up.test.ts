// The main thread's warm-up runs the real challenge path (not a refusal path) on its made-up
// REGISTERs, stops at its time bound, and leaves the challenger answering as before.
import t from 'tap';
import { createStatelessChallenger } from '../../lib/registrar/stateless-challenge.js';
import { warmUpMainPath } from '../../lib/shard/main-warm-up.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { testConfig } from '../helpers/proxy-harness.js';

const LISTENERS = [{ transport: 'udp' as const, address: '127.0.0.1', port: 5060 }];

function challengerFor(domains: string[]) {
  const config = testConfig({ domains });
  const on = { ...config, registrar: { ...config.registrar, statelessChallenge: true } };
  const c = createStatelessChallenger(on, LISTENERS, Buffer.alloc(32, 1));
  if (c === undefined) throw new Error('challenger off');
  return c;
}

t.test('every made-up REGISTER gets a 401: the warm-up exercises the whole challenge', async (t) => {
  for (const domain of ['127.0.0.1', 'sip.example.net']) {
    const r = warmUpMainPath({ domain, challenger: challengerFor([domain]), rounds: 300, maxMs: 60_000 });
    t.equal(r.rounds, 300, domain);
    t.equal(r.challenged, 300, `${domain}: each round answered`);
  }
});

t.test('a domain the challenger does not serve is left to the shards (none answered)', async (t) => {
  const r = warmUpMainPath({ domain: 'elsewhere.example', challenger: challengerFor(['127.0.0.1']), rounds: 50, maxMs: 60_000 });
  t.equal(r.rounds, 50);
  t.equal(r.challenged, 0);
});

t.test('without a challenger only the peek path runs; the time bound stops a long warm-up', async (t) => {
  t.equal(warmUpMainPath({ domain: '127.0.0.1', rounds: 100 }).challenged, 0);
  const r = warmUpMainPath({ domain: '127.0.0.1', challenger: challengerFor(['127.0.0.1']), rounds: 10_000_000, maxMs: 30 });
  t.ok(r.rounds < 10_000_000, `stopped after ${r.rounds} rounds`);
  t.ok(r.ms < 2000, `within its bound (${r.ms} ms)`);
});

t.test('after a warm-up the challenger still answers a phone with a fresh 401', async (t) => {
  const c = challengerFor(['127.0.0.1']);
  warmUpMainPath({ domain: '127.0.0.1', challenger: c, rounds: 200, maxMs: 60_000 });
  const req = 'REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.5:5070;branch=z9hG4bK-p1\r\n' +
    'From: <sip:100@127.0.0.1>;tag=a\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: p1@10.0.0.5\r\nCSeq: 1 REGISTER\r\n' +
    'Contact: <sip:100@10.0.0.5:5070>\r\nContent-Length: 0\r\n\r\n';
  const res = c.challenge(Buffer.from(req, 'latin1'), { transport: 'udp', address: '10.0.0.5', port: 5070 });
  t.ok(res);
  const msg = parseMessage(res!).message;
  t.equal(msg.status, 401);
  t.equal(msg.callId, 'p1@10.0.0.5');
  t.match(msg.get('www-authenticate'), /^Digest realm="[^"]+", nonce="[A-Za-z0-9_-]{43}"/);
});
