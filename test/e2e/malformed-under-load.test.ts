// Malformed datagrams from another socket while sipp runs calls through the proxy: the calls are
// not disturbed, the proxy still answers OPTIONS, and no malformed input reaches an internal error.
import t from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import { randomBytes } from 'node:crypto';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { probeOptions } from '../helpers/options-probe.js';
import { shardTotals } from '../helpers/shard-totals.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, sippReport, startSipp, summary } from '../helpers/sipp.js';

const CALLS = 300;
const RATE = 50;
const MALFORMED = 2000;

t.setTimeout(90_000);

/** An INVITE to a number no route serves, so whatever parses is answered by the proxy itself. */
function request(port: number, n: number, lines: { callId?: boolean; contentLength?: string; extra?: string[]; body?: string } = {}): string {
  const head = [
    `INVITE sip:noise${n}@127.0.0.1 SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-bad${n};rport`,
    'Max-Forwards: 70',
    `From: <sip:noise@127.0.0.1>;tag=n${n}`,
    `To: <sip:noise${n}@127.0.0.1>`,
    ...(lines.callId === false ? [] : [`Call-ID: malformed-${n}@test`]),
    'CSeq: 1 INVITE',
    ...(lines.extra ?? []),
    `Content-Length: ${lines.contentLength ?? String((lines.body ?? '').length)}`,
  ];
  return `${head.join('\r\n')}\r\n\r\n${lines.body ?? ''}`;
}

/** The n-th malformed datagram: a rotation through the kinds of damage a proxy meets. */
function malformed(port: number, n: number): Buffer {
  switch (n % 10) {
    case 0: return randomBytes(1 + (n % 1400)); // binary noise
    case 1: return Buffer.from(request(port, n).slice(0, 20 + (n % 150))); // truncated INVITE
    case 2: return Buffer.from(request(port, n, { extra: [`Subject: ${'x'.repeat(8000 + (n % 50_000))}`] })); // huge header line
    case 3: return Buffer.from(request(port, n, { callId: false })); // no Call-ID
    case 4: return Buffer.from(request(port, n, { contentLength: '9999', body: 'v=0\r\n' })); // Content-Length beyond the datagram
    case 5: return Buffer.from(request(port, n, { contentLength: '-5', body: 'v=0\r\n' })); // negative Content-Length
    case 6: return Buffer.from(request(port, n, { contentLength: 'ten' })); // non-numeric Content-Length
    case 7: return Buffer.from(`SIP/2.0 200 OK\r\nVia: garbage\r\nCall-ID: stray-${n}\r\nCSeq: x\r\n\r\n`); // stray broken response
    case 8: return Buffer.from(request(port, n, { extra: ['Via SIP/2.0/UDP no-colon', 'Max-Forwards: -1', `\u0000\u0001${'\u00ff'.repeat(40)}`] })); // broken header lines
    default: return Buffer.concat([Buffer.from(`INVITE sip:${'%'.repeat(n % 300)}@ SIP/2.0\r\nCall-ID: `), randomBytes(200)]); // bad URI, binary Call-ID
  }
}

async function flood(proxyPort: number, sock: Socket): Promise<void> {
  const own = sock.address().port;
  // 2,000 datagrams in bursts of 25 every 40 ms: ~3 s, overlapping the middle of the calls
  for (let n = 0; n < MALFORMED; n += 25) {
    for (let i = n; i < n + 25 && i < MALFORMED; i++) sock.send(malformed(own, i), proxyPort, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 40));
  }
}

if (requireSipp(t)) {
  t.test(`${CALLS} calls succeed while ${MALFORMED} malformed datagrams hit the proxy`, async (t) => {
    const uasPort = await freeUdpPort();
    const proxy = await startTestProxy({ routes: [{ prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' }] });
    t.teardown(() => proxy.close());
    const uas = await startSipp(['-sn', 'uas', ...await loopbackArgs(uasPort)], { timeoutMs: 40_000 });
    t.teardown(() => uas.stop());
    const noise = createSocket('udp4');
    await new Promise<void>((r) => noise.bind(0, '127.0.0.1', r));
    t.teardown(() => noise.close());
    noise.on('message', () => undefined); // the proxy's 400s come back here

    const calls = runSipp([
      '-sn', 'uac', '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', String(RATE), '-d', '100', '-timeout', '30s', '-timeout_error',
    ], { timeoutMs: 30_000 });
    await new Promise((r) => setTimeout(r, 1000));
    await flood(proxy.udpPort, noise);
    const uac = await calls;
    const callee = summary(await uas.stop());
    const s = summary(uac);
    t.comment(`uac: ${JSON.stringify(s)}`);
    t.comment(`uas: ${JSON.stringify(callee)}`);

    t.equal(uac.code, 0, 'sipp uac exit 0', { sipp: sippReport(uac) });
    t.equal(s.successful, CALLS, 'every call succeeded');
    t.equal(s.failed, 0, 'no call failed');
    t.equal(callee.successful, CALLS, 'the UAS saw exactly the calls, all ended');

    const reply = await probeOptions(proxy.udpPort);
    t.match(reply, /^SIP\/2\.0 200 OK\r\n/, 'the proxy still answers OPTIONS');

    const totals = await shardTotals(proxy);
    t.comment(`proxy: ${JSON.stringify(totals)} main: ${JSON.stringify(proxy.mainStats)}`);
    t.equal(totals.internalErrors, 0, 'no internal errors');
    t.ok(totals.parseErrors + totals.badRequests + totals.dropped + proxy.mainStats.noCallId > 0, 'the malformed input was seen and refused');
    t.equal(proxy.pool.restarts, 0, 'no shard died');
  });
}
