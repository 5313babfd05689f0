// Loopback helpers: a free UDP port, and waiting until a SIP server answers an OPTIONS.
import { peekCallId } from '../../lib/shard/callid-peek.js';
import { callIdForShard } from '../../lib/shard/owned-callid.js';
import { createSocket } from 'node:dgram';

export async function freeUdpPort(): Promise<number> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve, reject) => { s.once('error', reject); s.bind(0, '127.0.0.1', resolve); });
  const { port } = s.address();
  await new Promise<void>((resolve) => s.close(() => resolve()));
  return port;
}

/**
 * Sends OPTIONS to 127.0.0.1:port every 200 ms and resolves once the SIP server answers one (any
 * response); throws after timeoutMs. `shards` > 0 (our proxy with worker threads): once each of
 * its worker shards has answered one, each probe's Call-ID hashing to one of them and its To tag
 * set, so that no shard on the main thread takes it (shard.placement: load places only new work
 * there): a worker answers after its warm-up, and a step must not start, and be charged for, while
 * one is still warming up.
 */
export async function waitForSip(port: number, timeoutMs: number, shards = 0): Promise<void> {
  const s = createSocket('udp4');
  await new Promise<void>((resolve) => s.bind(0, '127.0.0.1', resolve));
  const local = s.address().port;
  const callIds = shards > 0 ? Array.from({ length: shards }, (_, i) => callIdForShard(i, shards, 'bench-probe')) : [`bench-probe-${local}`];
  const waiting = new Set(callIds);
  try {
    await new Promise<void>((resolve, reject) => {
      let n = 0;
      const send = (): void => {
        n++;
        for (const callId of waiting) {
          const msg = [
            `OPTIONS sip:127.0.0.1:${port} SIP/2.0`,
            `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-bench-probe-${n}-${callId.slice(0, 8)};rport`,
            'Max-Forwards: 70',
            `From: <sip:probe@127.0.0.1:${local}>;tag=probe`,
            `To: <sip:127.0.0.1:${port}>${shards > 0 ? ';tag=probe-to' : ''}`,
            `Call-ID: ${callId}`,
            `CSeq: ${n} OPTIONS`,
            'Content-Length: 0', '', '',
          ].join('\r\n');
          s.send(msg, port, '127.0.0.1');
        }
      };
      const iv = setInterval(send, 200);
      const to = setTimeout(() => { clearInterval(iv); reject(new Error(`no SIP answer on 127.0.0.1:${port} after ${timeoutMs} ms${shards > 0 ? ` from ${waiting.size} of ${shards} shards` : ''}`)); }, timeoutMs);
      s.on('message', (buf) => {
        if (!buf.toString('latin1', 0, 8).startsWith('SIP/2.0 ')) return;
        waiting.delete(peekCallId(buf) ?? '');
        if (shards > 0 && waiting.size > 0) return;
        clearInterval(iv);
        clearTimeout(to);
        resolve();
      });
      send();
    });
  } finally {
    s.close();
  }
}
