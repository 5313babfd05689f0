// Slow-loris and silent TCP connections are closed after tcpMessageTimeoutMs and counted; a
// connection that delivers its messages in time stays open; a banned source's connects are refused.
import { once } from 'node:events';
import { connect, type Socket } from 'node:net';
import t from 'tap';
import { TransportManager } from '../../lib/transport/transport-manager.js';

const limits = {
  maxMessageBytes: 4096, udpRecvBufferBytes: 1 << 20, udpSendBufferBytes: 1 << 20,
  tcpIdleTimeoutMs: 5000, tcpConnectTimeoutMs: 2000, maxConnections: 100, maxConnectionsPerSource: 10,
  tcpMessageTimeoutMs: 300,
};
const msg = 'OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nCall-ID: a\r\nContent-Length: 0\r\n\r\n';

async function open(port: number): Promise<Socket> {
  const s = connect({ host: '127.0.0.1', port });
  s.on('error', () => undefined);
  await once(s, 'connect');
  return s;
}

const closed = (s: Socket): Promise<number> => {
  const at = Date.now();
  return new Promise((r) => s.once('close', () => r(Date.now() - at)));
};

t.test('silent and trickling connections are closed; a prompt one stays', async (t) => {
  const tm = new TransportManager({ listeners: [{ transport: 'tcp', address: '127.0.0.1', port: 0 }], limits });
  let received = 0;
  tm.onMessage = () => { received++; };
  await tm.start();
  t.teardown(() => tm.close());
  const port = tm.boundListeners()[0]!.port;

  const silent = await open(port);
  const trickle = await open(port);
  const prompt = await open(port);
  prompt.write(msg);
  const silentClosed = closed(silent);
  const trickleClosed = closed(trickle);
  // slow loris: one byte of a message every 100 ms keeps the idle timer happy, never completes
  const drip = setInterval(() => { if (!trickle.destroyed) trickle.write('X'); }, 100);
  t.teardown(() => clearInterval(drip));
  trickle.write('OPTIONS sip:x@127.0.0.1 SIP/2.0\r\nSubject: ');
  const [a, b] = await Promise.all([silentClosed, trickleClosed]);
  t.ok(a < 2000, `a connection that sends nothing is closed (${a} ms)`);
  t.ok(b < 2000, `a message that never completes closes its connection (${b} ms)`);
  t.equal(received, 1, 'the prompt message was delivered');
  t.notOk(prompt.destroyed, 'the prompt connection is still open');
  prompt.write(msg);
  await new Promise((r) => setTimeout(r, 50));
  t.equal(received, 2, 'and still works');
  t.equal(tm.stats().slowClosed, 2, 'counted');
  prompt.destroy();
});

t.test('admitConnection refuses a source before the connection limits count it', async (t) => {
  const tm = new TransportManager({ listeners: [{ transport: 'tcp', address: '127.0.0.1', port: 0 }], limits });
  tm.admitConnection = () => false;
  await tm.start();
  t.teardown(() => tm.close());
  const s = await open(tm.boundListeners()[0]!.port);
  await closed(s);
  t.equal(tm.stats().rejectedConnections, 1);
  t.equal(tm.stats().openConnections, 0);
});
