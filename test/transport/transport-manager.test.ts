import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { once } from 'node:events';
import { connect, createServer, type AddressInfo, type Socket } from 'node:net';
import t from 'tap';
import { isSipProxyError } from '../../lib/errors.js';
import { TransportManager } from '../../lib/transport/transport-manager.js';
import type { InboundMessage, ListenerConfig, TransportLimits } from '../../lib/transport/types.js';

const limits: TransportLimits = {
  maxMessageBytes: 4096,
  udpRecvBufferBytes: 1 << 20,
  udpSendBufferBytes: 1 << 20,
  tcpIdleTimeoutMs: 5000,
  tcpConnectTimeoutMs: 2000,
  maxConnections: 100,
  maxConnectionsPerSource: 10,
};

/** The part of a tap Test these helpers use. */
interface Teardown {
  teardown(fn: () => unknown): void;
}

const sipMsg = (callId: string, body = ''): Buffer =>
  Buffer.from(`OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: ${callId}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);

async function started(
  t: Teardown,
  listeners: ListenerConfig[],
  over: Partial<TransportLimits> = {},
): Promise<{ tm: TransportManager; inbox: InboundMessage[]; next: () => Promise<InboundMessage> }> {
  const tm = new TransportManager({ listeners, limits: { ...limits, ...over } });
  const inbox: InboundMessage[] = [];
  const waiters: Array<(m: InboundMessage) => void> = [];
  tm.onMessage = (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else inbox.push(m);
  };
  const next = (): Promise<InboundMessage> =>
    new Promise((resolve) => {
      const m = inbox.shift();
      if (m) resolve(m);
      else waiters.push(resolve);
    });
  await tm.start();
  t.teardown(() => tm.close());
  return { tm, inbox, next };
}

function bound(tm: TransportManager, transport: string): ListenerConfig {
  const l = tm.boundListeners().find((b) => b.transport === transport);
  if (!l) throw new Error(`no ${transport} listener`);
  return l;
}

async function udpClient(t: Teardown, type: 'udp4' | 'udp6' = 'udp4', address = '127.0.0.1'): Promise<UdpSocket> {
  const s = createSocket(type);
  s.bind(0, address);
  await once(s, 'listening');
  t.teardown(() => new Promise<void>((r) => s.close(() => r())));
  return s;
}

async function tcpClient(t: Teardown, port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => {});
  await once(s, 'connect');
  t.teardown(() => void s.destroy());
  return s;
}

async function waitFor(cond: () => boolean, ms = 3000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 10));
  }
}

t.test('UDP round trip: reply leaves from the listening port', async (t) => {
  const { tm, next } = await started(t, [{ transport: 'udp', address: '127.0.0.1', port: 0 }]);
  const l = bound(tm, 'udp');
  t.not(l.port, 0, 'ephemeral port resolved');
  const client = await udpClient(t);
  client.send(sipMsg('udp-1'), l.port, '127.0.0.1');
  const m = await next();
  t.equal(m.transport, 'udp');
  t.equal(m.connId, 0);
  t.equal(m.remotePort, (client.address() as AddressInfo).port);
  t.equal(m.localPort, l.port);
  t.ok(m.data.equals(sipMsg('udp-1')));

  const got = once(client, 'message');
  tm.send({ transport: 'udp', address: m.remoteAddress, port: m.remotePort }, Buffer.from('SIP/2.0 200 OK\r\n\r\n'));
  const [data, rinfo] = (await got) as [Buffer, AddressInfo];
  t.equal(data.toString(), 'SIP/2.0 200 OK\r\n\r\n');
  t.equal(rinfo.port, l.port);
  t.same(tm.localAddressFor('udp', 4), { address: '127.0.0.1', port: l.port });
  t.equal(tm.localAddressFor('udp', 6), undefined);
  t.equal(tm.stats().received.udp, 1);
  t.equal(tm.stats().sent.udp, 1);
});

t.test('UDP oversize datagrams are dropped and counted', async (t) => {
  const { tm, next } = await started(t, [{ transport: 'udp', address: '127.0.0.1', port: 0 }], { maxMessageBytes: 200 });
  const client = await udpClient(t);
  const port = bound(tm, 'udp').port;
  client.send(sipMsg('big', 'x'.repeat(300)), port, '127.0.0.1');
  client.send(sipMsg('small'), port, '127.0.0.1');
  const m = await next();
  t.ok(m.data.toString().includes('Call-ID: small'));
  t.equal(tm.stats().droppedOversize, 1);
  t.equal(tm.stats().received.udp, 1);
});

const hasIpv6 = await new Promise<boolean>((resolve) => {
  const probe = createSocket('udp6');
  probe.once('error', () => {
    try {
      probe.close();
    } catch {
      // never bound
    }
    resolve(false);
  });
  probe.bind(0, '::1', () => probe.close(() => resolve(true)));
});

t.test('UDP over IPv6 loopback', { skip: hasIpv6 ? false : 'no IPv6 loopback here' }, async (t) => {
  const { tm, next } = await started(t, [
    { transport: 'udp', address: '127.0.0.1', port: 0 },
    { transport: 'udp', address: '::1', port: 0 },
  ]);
  const v6 = tm.localAddressFor('udp', 6);
  t.equal(v6?.address, '::1');
  const client = await udpClient(t, 'udp6', '::1');
  client.send(sipMsg('v6'), v6!.port, '::1');
  const m = await next();
  t.equal(m.remoteAddress, '::1');
  t.equal(m.localPort, v6!.port);
  const got = once(client, 'message');
  tm.send({ transport: 'udp', address: '::1', port: m.remotePort }, Buffer.from('pong'));
  const [, rinfo] = (await got) as [Buffer, AddressInfo];
  t.equal(rinfo.port, v6!.port, 'sent from the IPv6 listener');
});

t.test('TCP inbound, reply on the same connId, keep-alive pong', async (t) => {
  const { tm, next } = await started(t, [{ transport: 'tcp', address: '127.0.0.1', port: 0 }]);
  const l = bound(tm, 'tcp');
  const client = await tcpClient(t, l.port);
  client.write(Buffer.concat([sipMsg('tcp-1').subarray(0, 10)]));
  client.write(Buffer.concat([sipMsg('tcp-1').subarray(10), sipMsg('tcp-2', 'body')]));
  const a = await next();
  const b = await next();
  t.equal(a.transport, 'tcp');
  t.ok(a.connId > 0);
  t.equal(a.connId, b.connId);
  t.ok(b.data.equals(sipMsg('tcp-2', 'body')));
  t.equal(a.remotePort, client.localPort);
  t.equal(a.localPort, l.port);
  t.equal(tm.stats().openConnections, 1);

  const reply = sipMsg('reply');
  const got = once(client, 'data');
  tm.send({ transport: 'tcp', address: '192.0.2.1', port: 9, connId: a.connId }, reply);
  const [data] = (await got) as [Buffer];
  t.ok(data.equals(reply), 'reply arrived on the inbound connection');

  const pong = once(client, 'data');
  client.write('\r\n\r\n');
  const [p] = (await pong) as [Buffer];
  t.equal(p.toString(), '\r\n');
  t.equal(tm.stats().keepAlives, 1);
  t.equal(tm.stats().sent.tcp, 1);
});

t.test('TCP framing error closes the connection and is counted', async (t) => {
  const { tm } = await started(t, [{ transport: 'tcp', address: '127.0.0.1', port: 0 }]);
  const client = await tcpClient(t, bound(tm, 'tcp').port);
  const closed = once(client, 'close');
  client.write('OPTIONS sip:x SIP/2.0\r\nCall-ID: nolen\r\n\r\n');
  await closed;
  t.equal(tm.stats().framingErrors, 1);
  await waitFor(() => tm.stats().openConnections === 0);
});

t.test('outbound TCP: connect, queue until connected, reuse, responses come back', async (t) => {
  const { tm, next } = await started(t, [{ transport: 'tcp', address: '127.0.0.1', port: 0 }]);
  const accepted: Socket[] = [];
  const peer = createServer((s) => accepted.push(s));
  peer.listen(0, '127.0.0.1');
  await once(peer, 'listening');
  t.teardown(() => {
    for (const s of accepted) s.destroy();
    return new Promise<void>((r) => peer.close(() => r()));
  });
  const peerPort = (peer.address() as AddressInfo).port;

  const target = { transport: 'tcp' as const, address: '127.0.0.1', port: peerPort };
  tm.send(target, sipMsg('out-1'));
  tm.send(target, sipMsg('out-2'));
  await waitFor(() => accepted.length === 1);
  const peerSock = accepted[0];
  let received = '';
  peerSock.on('data', (d: Buffer) => (received += d.toString()));
  await waitFor(() => received.includes('out-2'));
  t.equal(accepted.length, 1, 'second send reused the connection');
  t.ok(received.indexOf('out-1') < received.indexOf('out-2'), 'in order');

  peerSock.write(Buffer.from('SIP/2.0 200 OK\r\nCall-ID: out-1\r\nl: 0\r\n\r\n'));
  const resp = await next();
  t.ok(resp.connId > 0);
  t.equal(resp.remotePort, peerPort);
  t.equal(resp.localPort, peerSock.remotePort);
  tm.send({ ...target, connId: resp.connId }, sipMsg('out-3'));
  await waitFor(() => received.includes('out-3'));
  t.equal(accepted.length, 1);
  t.equal(tm.stats().openConnections, 1);
  t.equal(tm.stats().sent.tcp, 3);
});

t.test('outbound TCP to a closed port counts a connect failure', async (t) => {
  const { tm } = await started(t, [{ transport: 'tcp', address: '127.0.0.1', port: 0 }]);
  const probe = createServer();
  probe.listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const deadPort = (probe.address() as AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  tm.send({ transport: 'tcp', address: '127.0.0.1', port: deadPort }, sipMsg('nobody'));
  await waitFor(() => tm.stats().connectFailures === 1);
  await waitFor(() => tm.stats().openConnections === 0);
  tm.send({ transport: 'udp', address: '127.0.0.1', port: 9 }, sipMsg('no udp listener'));
  tm.send({ transport: 'tcp', address: 'not-an-ip', port: 9 }, sipMsg('bad'));
  t.equal(tm.stats().sendErrors, 2);
});

t.test('idle TCP connections are closed', async (t) => {
  const { tm } = await started(t, [{ transport: 'tcp', address: '127.0.0.1', port: 0 }], { tcpIdleTimeoutMs: 200 });
  const client = await tcpClient(t, bound(tm, 'tcp').port);
  const started_ = Date.now();
  await once(client, 'close');
  const elapsed = Date.now() - started_;
  t.ok(elapsed >= 150 && elapsed < 2000, `closed after ${elapsed} ms`);
  await waitFor(() => tm.stats().openConnections === 0);
  t.equal(tm.stats().idleClosed, 1);
});

t.test('connection limits: per source and total', async (t) => {
  const { tm } = await started(t, [{ transport: 'tcp', address: '127.0.0.1', port: 0 }], {
    maxConnectionsPerSource: 2,
    maxConnections: 3,
  });
  const port = bound(tm, 'tcp').port;
  await tcpClient(t, port);
  await tcpClient(t, port);
  await waitFor(() => tm.stats().openConnections === 2);
  const third = await tcpClient(t, port);
  await once(third, 'close');
  t.equal(tm.stats().rejectedConnections, 1, 'third from the same source refused');
  t.equal(tm.stats().openConnections, 2);

  // A different source address (127.0.0.2 is loopback on Linux) is under the total cap of 3 once.
  const other = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.2' });
  other.on('error', () => {});
  t.teardown(() => void other.destroy());
  await once(other, 'connect');
  await waitFor(() => tm.stats().openConnections === 3);
  const over = connect({ host: '127.0.0.1', port, localAddress: '127.0.0.3' });
  over.on('error', () => {});
  t.teardown(() => void over.destroy());
  await once(over, 'close');
  t.equal(tm.stats().rejectedConnections, 2, 'total cap reached');
});

t.test('start() rejects with SIP_ERR_TRANSPORT naming the address when a bind fails', async (t) => {
  const { tm } = await started(t, [
    { transport: 'udp', address: '127.0.0.1', port: 0 },
    { transport: 'tcp', address: '127.0.0.1', port: 0 },
  ]);
  for (const taken of tm.boundListeners()) {
    const clash = new TransportManager({ listeners: [taken], limits });
    const err: unknown = await clash.start().then(() => undefined, (e: unknown) => e);
    t.ok(isSipProxyError(err, 'SIP_ERR_TRANSPORT'), `${taken.transport} bind clash rejects with SIP_ERR_TRANSPORT`);
    t.match((err as Error).message, `127.0.0.1:${taken.port}`);
    await clash.close();
  }
});

t.test('constructor validates listeners', async (t) => {
  t.throws(() => new TransportManager({ listeners: [{ transport: 'tls', address: '127.0.0.1', port: 0 }], limits }), { code: 'SIP_ERR_CONFIG' });
  t.throws(() => new TransportManager({ listeners: [{ transport: 'udp', address: 'localhost', port: 0 }], limits }), { code: 'SIP_ERR_CONFIG' });
});
