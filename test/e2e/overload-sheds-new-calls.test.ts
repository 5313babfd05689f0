// Overload on loopback, past a tiny backlog mark (any message in a sample interval): new INVITEs get
// a stateless 503 with Retry-After and never reach the callee, while the established call's BYE
// still goes through and is answered (a retransmission of its INVITE is not refused either); once
// the load stops, shedding stops and calls go through. A REGISTER that answers our challenge is
// work under way, not new work: it goes through while a fresh one is refused.
import t from 'tap';
import { renderMetrics } from '../../admin/metrics.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import { UdpPeer } from '../helpers/child-proxy.js';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { answerCalls, callerRequest, header, oks } from '../helpers/raw-calls.js';
import { untilOrThrow } from '../helpers/wait.js';

t.setTimeout(30_000);

t.test('overloaded: 503 + Retry-After to new INVITEs, the established call ends normally', async (t) => {
  const caller = await UdpPeer.open();
  const callee = await UdpPeer.open();
  const noise = await UdpPeer.open();
  t.teardown(() => { caller.close(); callee.close(); noise.close(); });
  const proxy = await startTestProxy({
    workers: 2,
    shard: { retryAfterSeconds: 7 },
    // utilization never triggers (1 is only reached by a whole interval without idle time); the
    // backlog does as soon as one message was handed to a shard during a 50 ms sample
    overload: { sampleMs: 50, sustainSamples: 1, eluHigh: 1, eluLow: 0.99, backlogHigh: 1, backlogLow: 0, max503PerSecond: 1000 },
    routes: [{ prefix: '9', destination: `sip:127.0.0.1:${callee.port}`, strip: 1, prepend: '' }],
  });
  t.teardown(() => proxy.close());
  const pp = proxy.udpPort;
  answerCalls(callee, pp);
  const req = (method: string, uri: string, callId: string, cseq: number, toTag: boolean, extra: string[] = []): string =>
    callerRequest(caller, method, uri, callId, cseq, toTag, extra);
  const finals = (callId: string): string[] => caller.received.filter((m) => m.includes(`Call-ID: ${callId}\r\n`) && /^SIP\/2\.0 [2-6]/.test(m));

  // the call is set up from idle; the INVITE itself turns shedding on for the next samples, but
  // the 200 (a response) and the ACK flow
  await untilOrThrow(() => !proxy.overload.shedding, 3000, 'an idle proxy');
  caller.send(req('INVITE', `sip:9000@127.0.0.1:${pp}`, 'open-call', 1, false), pp);
  await caller.until((r) => oks(r, '1 INVITE').length === 1);
  const recordRoute = header(oks(caller.received, '1 INVITE')[0]!, 'Record-Route')[0]!;
  caller.send(req('ACK', `sip:127.0.0.1:${callee.port}`, 'open-call', 1, true, [`Route: ${recordRoute}`]), pp);

  // steady in-dialog load (OPTIONS with a To tag, answered 481 by the shard) keeps the backlog up
  const load = noiseLoad(noise, pp);
  t.teardown(() => clearInterval(load));
  await untilOrThrow(() => proxy.overload.shedding, 3000, 'shedding to start');
  t.ok(proxy.overload.stats.backlog >= 1, `the backlog signal saw ${proxy.overload.stats.backlog}`);

  caller.send(req('INVITE', `sip:9000@127.0.0.1:${pp}`, 'new-call', 1, false), pp);
  await caller.until(() => finals('new-call').length > 0);
  const refused = finals('new-call')[0]!;
  t.match(refused, /^SIP\/2\.0 503 /, 'a new INVITE gets 503');
  t.match(refused, /\r\nRetry-After: 7\r\n/, 'with Retry-After (shard.retryAfterSeconds)');
  t.match(refused, /\r\nTo: [^\r]*;tag=/, 'a final response with a To tag');
  t.notOk(callee.received.some((m) => m.includes('Call-ID: new-call')), 'and it never reaches the callee');
  t.notOk(caller.received.some((m) => m.includes('Call-ID: new-call') && m.startsWith('SIP/2.0 100')), 'no shard saw it (no 100 Trying)');

  // the 503 is absorbed: the caller ACKs it (hop-by-hop, RFC 3261 17.1.1.3); the ACK is not new work
  caller.send(req('ACK', `sip:9000@127.0.0.1:${pp}`, 'new-call', 1, false).replace('To: <sip:9000@127.0.0.1>', `To: ${header(refused, 'To')[0]}`), pp);

  // a retransmission of the accepted INVITE is not new work: its transaction absorbs it (RFC 6026)
  caller.send(req('INVITE', `sip:9000@127.0.0.1:${pp}`, 'open-call', 1, false), pp);

  caller.send(req('BYE', `sip:127.0.0.1:${callee.port}`, 'open-call', 2, true, [`Route: ${recordRoute}`]), pp);
  await caller.until((r) => oks(r, '2 BYE').length === 1);
  t.ok(proxy.overload.shedding, 'still shedding when the BYE went through');
  t.notOk(callee.received.some((m) => m.includes('Call-ID: new-call')), 'the ACK of the 503 was absorbed by the proxy');
  t.notOk(finals('open-call').some((m) => m.startsWith('SIP/2.0 503')), 'the retransmitted INVITE of the accepted call drew no 503');
  t.ok(callee.received.some((m) => m.startsWith('BYE ') && m.includes('Call-ID: open-call')), 'the BYE reached the callee and its 200 came back');

  const shed = proxy.overload.stats.shed503;
  t.ok(shed >= 1, `${shed} new request(s) answered 503`);
  const metrics = renderMetrics(proxy, await proxy.shardStats(), 0);
  t.match(metrics, `sipshard_overload_shed_total{action="503"} ${shed}`, 'counted in /metrics');
  t.match(metrics, 'sipshard_overload_shedding 1');
  t.match(metrics, /^sipshard_overload_rx_queue_bytes \d+$/m, 'the UDP receive queue gauge is shown');
  t.match(metrics, /^sipshard_udp_receive_drops_total \d+$/m, 'and the kernel drops on our UDP sockets');

  clearInterval(load);
  await untilOrThrow(() => !proxy.overload.shedding, 3000, 'shedding to stop once the load stops');
  caller.send(req('INVITE', `sip:9000@127.0.0.1:${pp}`, 'later-call', 1, false), pp);
  await caller.until(() => finals('later-call').length > 0);
  t.match(finals('later-call')[0]!, /^SIP\/2\.0 200 /, 'after the overload a new call goes through');
  t.equal(proxy.overload.stats.episodes >= 1, true);
});

/** Keeps one shard's backlog up: in-dialog OPTIONS (answered 481), 5 every 5 ms, until cleared. */
function noiseLoad(noise: UdpPeer, port: number): NodeJS.Timeout {
  let n = 0;
  return setInterval(() => {
    for (let i = 0; i < 5; i++, n++) {
      noise.send([`OPTIONS sip:127.0.0.1:${port} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${noise.port};branch=z9hG4bK-noise${n};rport`, 'Max-Forwards: 70',
        'From: <sip:n@127.0.0.1>;tag=n', 'To: <sip:x@127.0.0.1>;tag=gone', `Call-ID: noise-${n}`, 'CSeq: 1 OPTIONS', 'Content-Length: 0', '', ''].join('\r\n'), port);
    }
  }, 5);
}

t.test('overloaded: a REGISTER answering our challenge goes through, a fresh or forged one gets 503', async (t) => {
  const peer = await UdpPeer.open();
  const noise = await UdpPeer.open();
  t.teardown(() => { peer.close(); noise.close(); });
  const proxy = await startTestProxy({
    workers: 1,
    overload: { sampleMs: 50, sustainSamples: 1, eluHigh: 1, eluLow: 0.99, backlogHigh: 1, backlogLow: 0, max503PerSecond: 1000 },
  });
  t.teardown(() => proxy.close());
  const pp = proxy.udpPort;
  const register = (callId: string, cseq: number, extra: string[] = []): string => [
    'REGISTER sip:127.0.0.1 SIP/2.0', `Via: SIP/2.0/UDP 127.0.0.1:${peer.port};branch=z9hG4bK-${callId}-${cseq};rport`, 'Max-Forwards: 70',
    'From: <sip:101@127.0.0.1>;tag=reg', 'To: <sip:101@127.0.0.1>', `Call-ID: ${callId}`, `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:101@127.0.0.1:${peer.port}>`, 'Expires: 600', ...extra, 'Content-Length: 0', '', '',
  ].join('\r\n');
  const answers = (callId: string): string[] => peer.received.filter((m) => m.startsWith('SIP/2.0 ') && m.includes(`Call-ID: ${callId}\r\n`));

  await untilOrThrow(() => !proxy.overload.shedding, 3000, 'an idle proxy');
  peer.send(register('reg-under-way', 1), pp);
  await untilOrThrow(() => answers('reg-under-way').some((m) => m.startsWith('SIP/2.0 401 ')), 3000, 'the challenge');
  const challenge = answers('reg-under-way').find((m) => m.startsWith('SIP/2.0 401 '))!;
  const md5 = [...challenge.matchAll(/^WWW-Authenticate: (.*)\r$/gm)].map((m) => m[1]!).find((o) => /algorithm=MD5/.test(o))!;
  const authorization = answerChallenge(md5, { username: '101', password: 'demo101pass', method: 'REGISTER', uri: 'sip:127.0.0.1' });

  const load = noiseLoad(noise, pp);
  t.teardown(() => clearInterval(load));
  await untilOrThrow(() => proxy.overload.shedding, 3000, 'shedding to start');

  peer.send(register('reg-fresh', 1), pp);
  peer.send(register('reg-forged', 1, [`Authorization: ${authorization}`]), pp); // valid nonce, but issued for another Call-ID
  peer.send(register('reg-under-way', 2, [`Authorization: ${authorization}`]), pp);
  const final = (callId: string, cseq: number): string | undefined =>
    answers(callId).find((m) => /^SIP\/2\.0 [2-6]/.test(m) && m.includes(`CSeq: ${cseq} REGISTER\r\n`));
  await untilOrThrow(() => final('reg-fresh', 1) !== undefined && final('reg-forged', 1) !== undefined && final('reg-under-way', 2) !== undefined,
    3000, 'three final answers');
  t.ok(proxy.overload.shedding, 'still shedding');
  t.match(final('reg-under-way', 2), /^SIP\/2\.0 200 /, 'the answer to our challenge registers');
  t.match(final('reg-fresh', 1), /^SIP\/2\.0 503 /, 'a fresh REGISTER is new work: 503');
  t.match(final('reg-forged', 1), /^SIP\/2\.0 503 /, "credentials with another Call-ID's nonce: 503");
  t.equal(proxy.overload.stats.admittedAnswers, 1, 'one request let through as work under way');
  const metrics = renderMetrics(proxy, await proxy.shardStats(), 0);
  t.match(metrics, 'sipshard_overload_admitted_answers_total 1', 'counted in /metrics');
});
