// SIP over TLS end to end: sipp UAC -> TLS -> proxy -> TLS (verified, one reused connection) ->
// sipp UAS. Debian's sipp has no TLS, so each sipp speaks TCP to a TLS bridge (test/helpers/tls-bridge.ts);
// every byte between the proxy and its peers is TLS 1.3.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { startTestProxy, testConfig } from '../helpers/proxy-harness.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, sippReport, startSipp, summary } from '../helpers/sipp.js';
import { settledShardTotals } from '../helpers/shard-totals.js';
import { testCertificate, tlsClientBridge, tlsServerBridge } from '../helpers/tls-bridge.js';

const CALLS = 20;

t.setTimeout(120_000);

const listen = [
  { transport: 'udp', address: '127.0.0.1', port: 0 },
  { transport: 'tls', address: '127.0.0.1', port: 0 },
];

if (requireSipp(t)) {
  t.test(`${CALLS} calls with TLS on both legs; the callee leg is verified and reused`, async (t) => {
    const peer = await testCertificate();
    const uasPort = await freeUdpPort(); // sipp -t t1 listens on TCP at this port number
    const toUas = await tlsServerBridge(uasPort, peer.cert, peer.key);
    t.teardown(() => toUas.close());
    const base = testConfig();
    const proxy = await startTestProxy({
      listen,
      tls: { ...base.tls, caFile: peer.certFile },
      routes: [{ prefix: '9', destination: `sips:127.0.0.1:${toUas.port}`, strip: 1, prepend: '' }],
    });
    t.teardown(() => proxy.close());
    const proxyCert = readFileSync(join(proxy.config.tls.selfSignedDir, 'self-signed.crt'));
    t.ok(proxy.tls.selfSigned, 'a self-signed certificate was generated for the listener');
    const fromUac = await tlsClientBridge(proxy.tlsPort, proxyCert);
    t.teardown(() => fromUac.close());

    const uas = await startSipp(['-sn', 'uas', '-t', 't1', ...await loopbackArgs(uasPort)], { timeoutMs: 60_000, traceMessages: true });
    t.teardown(() => uas.stop());
    const uac = await runSipp([
      '-sn', 'uac', '-t', 't1', '-s', '9000', `127.0.0.1:${fromUac.port}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', '20', '-d', '100', '-timeout', '40s', '-timeout_error',
    ], { timeoutMs: 40_000 });
    const callee = await uas.stop();
    t.equal(uac.code, 0, 'sipp uac exit 0', { sipp: sippReport(uac) });
    t.equal(summary(uac).successful, CALLS, 'every call succeeded');
    t.equal(summary(callee).incoming, CALLS, 'the UAS saw every call');
    t.same([...new Set(fromUac.protocols)], ['TLSv1.3'], 'caller leg negotiated TLS 1.3');
    t.same(toUas.protocols, ['TLSv1.3'], 'one outbound TLS 1.3 connection, reused for every call');
    t.match(callee.messages, /Record-Route: <sips:127\.0\.0\.1:\d+;lr>/, 'the TLS leg is record-routed as sips');
    t.match(callee.messages, /Via: SIP\/2\.0\/TLS 127\.0\.0\.1:\d+;branch=z9hG4bK/, 'our Via names TLS');
    t.ok(proxy.transports.stats().received.tls >= CALLS * 4, 'the proxy read the calls over TLS');
    const totals = await settledShardTotals(proxy, (s) => s.confirmed === 0);
    t.equal(totals.confirmed, 0, 'every call ended');
  });
}

t.test('a TLS peer whose certificate caFile does not vouch for is refused', async (t) => {
  const trusted = await testCertificate();
  const stranger = await testCertificate();
  const toPeer = await tlsServerBridge(9, stranger.cert, stranger.key); // never reached
  t.teardown(() => toPeer.close());
  const base = testConfig();
  const proxy = await startTestProxy({
    listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }],
    tls: { ...base.tls, caFile: trusted.certFile },
    proxy: { ...base.proxy, t1Ms: 50, t2Ms: 100 },
    routes: [{ prefix: '9', destination: `sips:127.0.0.1:${toPeer.port}`, strip: 1, prepend: '' }],
  });
  t.teardown(() => proxy.close());
  const { createSocket } = await import('node:dgram');
  const sock = createSocket('udp4');
  t.teardown(() => sock.close());
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', () => r()));
  const port = sock.address().port;
  const final = new Promise<string>((resolve) => sock.on('message', (m) => { const s = m.toString('latin1'); if (!/^SIP\/2\.0 1\d\d/.test(s)) resolve(s); }));
  const invite = [
    'INVITE sip:9123@127.0.0.1 SIP/2.0',
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-tls-refused;rport`,
    'Max-Forwards: 70',
    'From: <sip:caller@example.net>;tag=a1',
    'To: <sip:9123@127.0.0.1>',
    'Call-ID: tls-refused-1@test',
    'CSeq: 1 INVITE',
    `Contact: <sip:caller@127.0.0.1:${port}>`,
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  sock.send(invite, proxy.udpPort, '127.0.0.1');
  const res = await final;
  t.match(res, /^SIP\/2\.0 408 /, 'the caller gets 408: the branch never got through');
  t.ok(proxy.transports.stats().tlsHandshakeFailures >= 1, 'the failed verification is counted');
  t.ok(toPeer.errors.length >= 1 || toPeer.protocols.length === 0, 'no session was established with the stranger');
});
