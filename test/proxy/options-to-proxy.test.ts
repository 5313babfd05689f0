import t from 'tap';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { startTestProxy } from '../helpers/proxy-harness.js';

t.test('OPTIONS addressed to the proxy itself is answered 200 with Allow', async (t) => {
  const proxy = await startTestProxy();
  t.teardown(() => proxy.close());
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  t.teardown(() => sock.close());
  const port = sock.address().port;
  const msg = [
    `OPTIONS sip:127.0.0.1:${proxy.udpPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-opt1;rport`,
    'Max-Forwards: 70',
    `From: <sip:probe@127.0.0.1>;tag=a1`,
    `To: <sip:127.0.0.1:${proxy.udpPort}>`,
    'Call-ID: opt-1@test',
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  sock.send(msg, proxy.udpPort, '127.0.0.1');
  const [data] = await once(sock, 'message') as [Buffer];
  const text = data.toString();
  t.match(text, /^SIP\/2\.0 200 OK\r\n/);
  t.match(text, /\r\nAllow: [^\r]*INVITE/);
  t.match(text, new RegExp(`\\r\\nVia: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-opt1;rport=${port}\\r\\n`));
  t.match(text, /\r\nTo: <sip:127\.0\.0\.1:\d+>;tag=\w+\r\n/);
});
