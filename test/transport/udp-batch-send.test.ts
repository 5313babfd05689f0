// A shard's packed run sent by TransportManager.sendPacked: with the sendmmsg addon (built at
// `npm ci` on Linux) and without it (transport.udpBatchSend false), the same datagrams reach the
// same peers from our listening port, in order, with the same counters; frames the batch cannot
// send (a stream target, a family we do not listen on, a host name, an oversize message) are
// handled as send() handles them one by one.
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type AddressInfo, type Socket } from 'node:net';
import t, { type Test } from 'tap';
import { SipRunWriter } from '../../lib/shard/sip-frames.js';
import { TransportManager } from '../../lib/transport/transport-manager.js';
import { udpBatchSendAvailable } from '../../lib/transport/udp-batch-send.js';
import type { SendTarget, TransportLimits } from '../../lib/transport/types.js';
import { until } from '../helpers/wait.js';

const limits: TransportLimits = {
  maxMessageBytes: 4096, udpRecvBufferBytes: 1 << 20, udpSendBufferBytes: 1 << 20, tcpIdleTimeoutMs: 5000,
  tcpConnectTimeoutMs: 2000, maxConnections: 100, maxConnectionsPerSource: 10,
};

interface Peer { socket: UdpSocket; port: number; got: Array<{ text: string; from: RemoteInfo }> }

async function udpPeer(t: Test): Promise<Peer> {
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  t.teardown(() => socket.close());
  const peer: Peer = { socket, port: socket.address().port, got: [] };
  socket.on('message', (m, from) => peer.got.push({ text: m.toString('latin1'), from }));
  return peer;
}

const msg = (n: number, size = 0): Buffer => Buffer.from(`OPTIONS sip:p${n}@127.0.0.1 SIP/2.0\r\nCall-ID: batch-${n}\r\nX-Pad: ${'x'.repeat(size)}\r\nContent-Length: 0\r\n\r\n`, 'latin1');

async function manager(t: Test, udpBatchSend: boolean): Promise<{ tm: TransportManager; port: number }> {
  const tm = new TransportManager({ listeners: [{ transport: 'udp', address: '127.0.0.1', port: 0 }, { transport: 'tcp', address: '127.0.0.1', port: 0 }], limits: { ...limits, udpBatchSend } });
  await tm.start();
  t.teardown(() => tm.close());
  return { tm, port: tm.boundListeners().find((l) => l.transport === 'udp')!.port };
}

t.test('the addon is built on Linux (npm ci builds it; without it the proxy still works, slower)', { skip: process.platform !== 'linux' }, async (t) => {
  t.ok(udpBatchSendAvailable, 'build/Release/udp_batch.node loads');
});

for (const batch of [true, false]) {
  t.test(`udpBatchSend ${batch}: the same datagrams, in order, from our port; the same counters`, async (t) => {
    const { tm, port } = await manager(t, batch);
    t.equal(tm.batchSending, batch && udpBatchSendAvailable);
    const a = await udpPeer(t);
    const b = await udpPeer(t);
    const tcpGot: Buffer[] = [];
    const server = createServer((s: Socket) => s.on('data', (d) => tcpGot.push(d)));
    server.listen(0, '127.0.0.1');
    await once(server, 'listening');
    t.teardown(() => new Promise<void>((r) => server.close(() => r())));
    const tcpPort = (server.address() as AddressInfo).port;

    const w = new SipRunWriter();
    const toA: SendTarget = { transport: 'udp', address: '127.0.0.1', port: a.port };
    const toB: SendTarget = { transport: 'udp', address: '127.0.0.1', port: b.port };
    const toTcp: SendTarget = { transport: 'tcp', address: '127.0.0.1', port: tcpPort };
    const toV6: SendTarget = { transport: 'udp', address: '::1', port: 5060 }; // no IPv6 listener
    const toName: SendTarget = { transport: 'udp', address: 'peer.example', port: 5060 };
    // 150 messages: more than one sendmmsg call of 64, the two peers interleaved
    for (let i = 0; i < 150; i++) w.add(msg(i), i % 3 === 0 ? toB : toA);
    w.add(msg(1000), toTcp);
    w.add(msg(1001), toV6);
    w.add(msg(1002), toName);
    w.add(msg(1003, 5000), toA); // larger than maxMessageBytes
    w.add(msg(1004), toA);
    const before = tm.stats();
    tm.sendPacked(w.close()!);

    await until(() => a.got.length >= 101 && b.got.length >= 50 && tcpGot.length > 0, 3000);
    const expectA = [...Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 3 !== 0), 1004].map((i) => msg(i).toString('latin1'));
    const expectB = Array.from({ length: 150 }, (_, i) => i).filter((i) => i % 3 === 0).map((i) => msg(i).toString('latin1'));
    t.same(a.got.map((g) => g.text), expectA, 'peer A: its messages in order, the oversize one left out');
    t.same(b.got.map((g) => g.text), expectB, 'peer B: its messages in order');
    t.ok([...a.got, ...b.got].every((g) => g.from.port === port && g.from.address === '127.0.0.1'), 'sent from our listening socket');
    t.equal(Buffer.concat(tcpGot).toString('latin1'), msg(1000).toString('latin1'), 'the stream target got its message over TCP');
    const after = tm.stats();
    t.equal(after.sent.udp - before.sent.udp, 151, 'UDP sends counted');
    t.equal(after.sent.tcp - before.sent.tcp, 1);
    t.equal(after.sendErrors - before.sendErrors, 3, 'IPv6 without a listener, a host name, the oversize message');
  });
}

t.test('after close the batch has no socket: nothing is written to a stale descriptor', async (t) => {
  const { tm } = await manager(t, true);
  const a = await udpPeer(t);
  await tm.close();
  t.equal(tm.batchSending, false);
  const w = new SipRunWriter();
  w.add(msg(1), { transport: 'udp', address: '127.0.0.1', port: a.port });
  tm.sendPacked(w.close()!);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(a.got.length, 0);
});
