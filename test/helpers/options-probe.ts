// "Are you alive?" for a running proxy: an OPTIONS addressed to the proxy itself over UDP, resent
// every 500 ms (as a UAC would, RFC 3261 17.1.2.2) until its answer or the deadline.
import { createSocket } from 'node:dgram';
import { once } from 'node:events';

/** The proxy's answer (whole text), or a rejection after `withinMs`. */
export async function probeOptions(proxyPort: number, withinMs = 3000): Promise<string> {
  const sock = createSocket('udp4');
  await new Promise<void>((r) => sock.bind(0, '127.0.0.1', r));
  const own = sock.address().port;
  const callId = `probe-${own}-${Date.now()}@test`;
  const msg = [
    `OPTIONS sip:127.0.0.1:${proxyPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${own};branch=z9hG4bK-${callId.replace(/\W/g, '')};rport`,
    'Max-Forwards: 70',
    'From: <sip:probe@127.0.0.1>;tag=probe',
    `To: <sip:127.0.0.1:${proxyPort}>`,
    `Call-ID: ${callId}`,
    'CSeq: 1 OPTIONS',
    'Content-Length: 0',
    '', '',
  ].join('\r\n');
  const ac = new AbortController();
  const deadline = setTimeout(() => ac.abort(), withinMs);
  const resend = setInterval(() => sock.send(msg, proxyPort, '127.0.0.1'), 500);
  try {
    sock.send(msg, proxyPort, '127.0.0.1');
    for (;;) {
      const [data] = await once(sock, 'message', { signal: ac.signal }) as [Buffer];
      const text = data.toString('latin1');
      if (text.includes(callId)) return text;
    }
  } finally {
    clearTimeout(deadline);
    clearInterval(resend);
    sock.close();
  }
}
