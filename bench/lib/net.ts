// Loopback helpers: a free UDP port, and waiting until a SIP server answers an OPTIONS.
import { createSocket } from 'node:dgram';

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, '127.0.0.1', resolve); });
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/** Sends OPTIONS to 127.0.0.1:port every 200 ms until any SIP response arrives; throws after timeoutMs. */
export async function waitForSip(port: number, timeoutMs: number): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const local = s.address().port;
  try {
    await new Promise<void>((resolve, reject) => {
      let n = 0;
      const send = (): void => {
        n++;
        const msg = [
          `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
          `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-bench-probe-${n};rport`,
          'Max-Forwards: 70',
          `From: <sip:probe@127.0.0.1:${local}>;tag=probe`,
          `To: <sip:127.0.0.1:${port}>`,
          `Call-ID: bench-probe-${local}`,
          `CSeq: ${n} OPTIONS`,
          'Content-Length: 0', '', '',
        ].join('\r\n');
        s.send(msg, port, '127.0.0.1');
      };
      const iv = setInterval(send, 200);
      const to = setTimeout(() => { clearInterval(iv); reject(new Error(`no SIP answer on 127.0.0.1:${port} after ${timeoutMs} ms`)); }, timeoutMs);
      s.on('message', (buf) => {
        if (buf.toString('latin1').startsWith('SIP/2.0 ')) { clearInterval(iv); clearTimeout(to); resolve(); }
      });
      send();
    });
  } finally {
    s.close();
  }
}
