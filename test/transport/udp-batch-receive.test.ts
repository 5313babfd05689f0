// UDP listeners read with recvmmsg through the addon (transport.udpBatchReceive, default on) and
// through dgram (off): the same messages, in order per sender, with the sender's address and port,
// the same counters; IPv6 text as dgram gives it; a 60 KB datagram whole; and a closed listener
// frees its port at once (the addon's duplicate descriptor is closed first).
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import t, { type Test } from 'tap';
import { TransportManager } from '../../lib/transport/transport-manager.js';
import { udpBatchReceiveAvailable } from '../../lib/transport/udp-batch-receive.js';
import type { InboundMessage, TransportLimits } from '../../lib/transport/types.js';
import { until } from '../helpers/wait.js';

const limits: TransportLimits = {
  maxMessageBytes: 65535, udpRecvBufferBytes: 1 << 21, udpSendBufferBytes: 1 << 20, tcpIdleTimeoutMs: 5000,
  tcpConnectTimeoutMs: 2000, maxConnections: 100, maxConnectionsPerSource: 10,
};

async function client(t: Test, family: 4 | 6): Promise<UdpSocket> {
  const s = createSocket(family === 4 ? 'udp4' : 'udp6');
  s.bind(0, family === 4 ? '127.0.0.1' : '::1');
  await once(s, 'listening');
  t.teardown(() => s.close());
  return s;
}

async function manager(t: Test, address: string, udpBatchReceive: boolean, maxMessageBytes = limits.maxMessageBytes): Promise<{ tm: TransportManager; port: number; got: InboundMessage[] }> {
  const tm = new TransportManager({ listeners: [{ transport: 'udp', address, port: 0 }], limits: { ...limits, maxMessageBytes, udpBatchReceive } });
  const got: InboundMessage[] = [];
  // a copy: the message's bytes must stay valid after the handler (they are a view of a batch)
  tm.onMessage = (m) => got.push({ ...m, data: Buffer.from(m.data) });
  await tm.start();
  t.teardown(() => tm.close());
  return { tm, port: tm.boundListeners()[0]!.port, got };
}

const text = (from: string, n: number): string => `OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: ${from}-${n}\r\nContent-Length: 0\r\n\r\n`;

t.test('the addon reads UDP on Linux (npm ci builds it)', { skip: process.platform !== 'linux' }, async (t) => {
  t.ok(udpBatchReceiveAvailable, 'build/Release/udp_batch.node has recvStart');
});

for (const batch of [true, false]) {
  t.test(`udpBatchReceive ${batch}: every datagram, in order per sender, with its source; the same counters`, async (t) => {
    const { tm, port, got } = await manager(t, '127.0.0.1', batch);
    t.equal(tm.batchReceiving, batch && udpBatchReceiveAvailable, 'the path in use');
    const a = await client(t, 4);
    const b = await client(t, 4);
    const n = 300;
    for (let i = 0; i < n; i++) {
      a.send(text('a', i), port, '127.0.0.1');
      b.send(text('b', i), port, '127.0.0.1');
    }
    a.send('\r\n\r\n', port, '127.0.0.1'); // a keep-alive: counted, not a message
    await until(() => got.length >= 2 * n && tm.stats().keepAlives === 1, 5000);
    t.equal(got.length, 2 * n);
    for (const [s, tag] of [[a, 'a'], [b, 'b']] as const) {
      const mine = got.filter((m) => m.remotePort === s.address().port);
      t.equal(mine.length, n, `${tag}: all of them`);
      t.same(mine.map((m) => m.data.toString('latin1')), Array.from({ length: n }, (_, i) => text(tag, i)), `${tag}: in order, bytes intact`);
      t.ok(mine.every((m) => m.remoteAddress === '127.0.0.1' && m.transport === 'udp' && m.localPort === port), `${tag}: source and listener`);
    }
    t.equal(tm.stats().received.udp, 2 * n);
    t.equal(tm.stats().keepAlives, 1);
  });
}

t.test('a 60,000-byte datagram arrives whole; one over maxMessageBytes is dropped and counted', async (t) => {
  const { tm, port, got } = await manager(t, '127.0.0.1', true, 60_000);
  const c = await client(t, 4);
  const big = Buffer.alloc(60_000, 0x61);
  big.write('OPTIONS sip:x@127.0.0.1 SIP/2.0\r\n', 0, 'latin1');
  c.send(big, port, '127.0.0.1');
  c.send(Buffer.alloc(60_001, 0x62), port, '127.0.0.1');
  c.send(text('c', 1), port, '127.0.0.1');
  await until(() => got.length >= 2 && tm.stats().droppedOversize >= 1, 5000);
  t.equal(got.length, 2);
  t.ok(got[0]!.data.equals(big), 'the big one, byte for byte');
  t.equal(got[1]!.data.toString('latin1'), text('c', 1));
  t.equal(tm.stats().droppedOversize, 1);
});

const ipv6Loopback = await (async (): Promise<boolean> => {
  const s = createSocket('udp6');
  const ok = await new Promise<boolean>((resolve) => { s.once('error', () => resolve(false)); s.bind(0, '::1', () => resolve(true)); });
  s.close();
  return ok;
})();

t.test('IPv6: the source address as dgram writes it (::1)', { skip: ipv6Loopback ? false : 'no IPv6 loopback here' }, async (t) => {
  const tm = await manager(t, '::1', true);
  const c = await client(t, 6);
  c.send(text('v6', 1), tm.port, '::1');
  await until(() => tm.got.length >= 1, 5000);
  t.equal(tm.got[0]?.remoteAddress, '::1');
  t.equal(tm.got[0]?.remotePort, c.address().port);
  t.equal(tm.tm.batchReceiving, udpBatchReceiveAvailable);
});

t.test('close frees the port at once: it can be bound again', async (t) => {
  const tm = new TransportManager({ listeners: [{ transport: 'udp', address: '127.0.0.1', port: 0 }], limits: { ...limits, udpBatchReceive: true } });
  await tm.start();
  const port = tm.boundListeners()[0]!.port;
  await tm.close();
  const again = createSocket('udp4');
  t.teardown(() => again.close());
  const bound = await new Promise<boolean>((resolve) => {
    again.once('error', () => resolve(false));
    again.bind(port, '127.0.0.1', () => resolve(true));
  });
  t.ok(bound, `port ${port} free after close`);
});
