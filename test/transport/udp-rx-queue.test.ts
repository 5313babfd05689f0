// Our UDP sockets' kernel receive queues: from /proc/net/udp{,6} (the parsing over sample text, and
// on Linux the real file for a socket whose datagrams are left unread), and from the socket itself
// through the addon (SO_MEMINFO), which must read what /proc reads; which of the two is used.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseUdpRxQueue, procLocalAddress, SocketRxQueueReader, UdpRxQueueReader, udpRxQueueSource } from '../../lib/transport/udp-rx-queue.js';
import { udpAddon } from '../../lib/transport/udp-addon.js';
import { UdpListener } from '../../lib/transport/udp-listener.js';
import type { TransportLimits, TransportLogger } from '../../lib/transport/types.js';

const noProc = process.platform !== 'linux' || !existsSync('/proc/net/udp') ? 'no /proc/net/udp (not Linux)' : false;

const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  104: 0100007F:13C4 00000000:0000 07 00000000:00002800 00:00000000 00000000  1000        0 92051 2 0000000045df007c 7
  105: 00000000:13C5 00000000:0000 07 00000000:00000500 00:00000000 00000000  1000        0 92052 2 0000000045df007d 0
  106: 0100007F:13C6 00000000:0000 07 00000000:0000FFFF 00:00000000 00000000  1000        0 92053 2 0000000045df007e 99
  107: 0100007F:0035 0100007F:13C4 01 00000000:00001000 00:00000000 00000000     0        0 92054 2 0000000045df007f 5
`;
const UDP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
 2345: 00000000000000000000000001000000:13C4 00000000000000000000000000000000:0000 07 00000000:00000A00 00:00000000 00000000  1000        0 123 2 0000000000000000 3
 2346: 00000000000000000000000000000000:13C4 00000000000000000000000000000000:0000 07 00000000:00000100 00:00000000 00000000  1000        0 124 2 0000000000000000 0
 2347: B80D0120000000000000000001000000:13C4 00000000000000000000000000000000:0000 07 00000000:00000001 00:00000000 00000000  1000        0 125 2 0000000000000000 0
`;

t.test('local_address as /proc prints it (little-endian words, upper-case hex)', async (t) => {
  t.equal(procLocalAddress('127.0.0.1', 5060, true), '0100007F:13C4');
  t.equal(procLocalAddress('0.0.0.0', 5061, true), '00000000:13C5');
  t.equal(procLocalAddress('10.1.2.3', 80, false), '0A010203:0050', 'big-endian host: no swap');
  t.equal(procLocalAddress('::1', 5060, true), '00000000000000000000000001000000:13C4');
  t.equal(procLocalAddress('::', 5060, true), '00000000000000000000000000000000:13C4');
  t.equal(procLocalAddress('2001:db8::1', 5060, true), 'B80D0120000000000000000001000000:13C4');
});

t.test('sums rx_queue and drops of our listeners only', async (t) => {
  const ours = new Set([procLocalAddress('127.0.0.1', 5060, true), procLocalAddress('0.0.0.0', 5061, true)]);
  t.same(parseUdpRxQueue(UDP, ours), { bytes: 0x2800 + 0x500, drops: 7 },
    'the 127.0.0.1:5060 and 0.0.0.0:5061 lines; another port, and a socket sending to our port, are ignored');
  t.same(parseUdpRxQueue(UDP, new Set([procLocalAddress('127.0.0.2', 5060, true)])), { bytes: 0, drops: 0 }, 'same port, other address: not ours');
  const v6 = new Set([procLocalAddress('::1', 5060, true), procLocalAddress('::', 5060, true)]);
  t.same(parseUdpRxQueue(UDP6, v6), { bytes: 0xa00 + 0x100, drops: 3 }, 'IPv6: ::1 and :: binds, 2001:db8::1 ignored');
  t.same(parseUdpRxQueue('', ours), { bytes: 0, drops: 0 }, 'empty file');
  t.same(parseUdpRxQueue('garbage\n  1: x\n', ours), { bytes: 0, drops: 0 }, 'lines that are not socket lines');
});

t.test('the reader sums both families, and is 0 (absent) without /proc', { skip: noProc }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'rxq-'));
  writeFileSync(join(dir, 'udp'), UDP);
  writeFileSync(join(dir, 'udp6'), UDP6);
  const le = procLocalAddress('127.0.0.1', 5060) === '0100007F:13C4';
  if (le) {
    t.same(new UdpRxQueueReader([{ address: '127.0.0.1', port: 5060 }, { address: '::1', port: 5060 }], dir).read(), { bytes: 0x2800 + 0xa00, drops: 10 });
  }
  t.same(new UdpRxQueueReader([{ address: '127.0.0.1', port: 5060 }], join(dir, 'missing')).read(), { bytes: 0, drops: 0 });
});

/**
 * `count` datagrams of `bytes` to 127.0.0.1:port from a child, sent while this thread is blocked in
 * execFileSync: nothing of ours reads them until the event loop runs again.
 */
function sendWhileBlocked(port: number, count: number, bytes: number): void {
  execFileSync(process.execPath, ['-e', `
    const s = require('node:dgram').createSocket('udp4'); let n = 0;
    const next = () => n++ < ${count} ? s.send(Buffer.alloc(${bytes}, 65), ${port}, '127.0.0.1', next) : s.close();
    next();`]);
}

t.test('on this Linux box: datagrams left unread show in our socket\'s rx_queue', { skip: noProc }, async (t) => {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve) => sock.bind(0, '127.0.0.1', resolve));
  t.teardown(() => sock.close());
  const { port } = sock.address();
  const reader = new UdpRxQueueReader([{ address: '127.0.0.1', port }]);
  t.equal(reader.read().bytes, 0, 'nothing queued yet');
  // the reading follows synchronously, before the event loop runs again
  sendWhileBlocked(port, 20, 500);
  const q = reader.read();
  t.ok(q.bytes >= 20 * 500, `20 datagrams of 500 bytes queued: rx_queue ${q.bytes} bytes`);
  t.equal(q.drops, 0);
  let got = 0;
  await new Promise<void>((resolve) => sock.on('message', () => { if (++got === 20) resolve(); }));
  t.equal(reader.read().bytes, 0, 'read: the queue is empty again');
});

const noAddon = noProc !== false ? noProc : typeof udpAddon?.socketQueue !== 'function' ? 'native addon not built' : false;

const quiet: TransportLogger = { info: () => {}, warn: () => {}, error: () => {}, debug: () => {} };
const limits = (recvBytes: number): TransportLimits => ({
  maxMessageBytes: 65535, udpRecvBufferBytes: recvBytes, udpSendBufferBytes: 0, tcpIdleTimeoutMs: 0, tcpConnectTimeoutMs: 1000,
  maxConnections: 10, maxConnectionsPerSource: 10,
});


t.test('the socket itself (SO_MEMINFO) reads what /proc reads: queued bytes, then drops', { skip: noAddon }, async (t) => {
  // a small receive buffer (the kernel doubles it; loopback charges ~1,280 bytes per datagram), so 400 overflow it
  const listener = new UdpListener({ transport: 'udp', address: '127.0.0.1', port: 0 }, limits(16_384), quiet, () => {});
  const { port } = await listener.listen();
  t.teardown(() => listener.close());
  const socket = udpRxQueueSource([{ address: '127.0.0.1', port }], () => [listener.fd]);
  const proc = new UdpRxQueueReader([{ address: '127.0.0.1', port }]);
  t.equal(socket.via, 'socket', 'the addon answers for the listener');
  t.same(socket.read(), { bytes: 0, drops: 0 }, 'nothing queued yet');

  sendWhileBlocked(port, 5, 500);
  const five = socket.read();
  t.ok(five.bytes >= 5 * 500, `5 datagrams of 500 bytes: ${five.bytes} bytes`);
  t.same(five, proc.read(), '/proc/net/udp reads the same');

  sendWhileBlocked(port, 400, 500);
  const full = socket.read();
  t.ok(full.drops > 0, `a full buffer drops: ${full.drops} dropped, ${full.bytes} bytes queued`);
  t.same(full, proc.read(), '/proc/net/udp reads the same');
});

t.test('which source: the sockets when the addon answers for every one of them, else /proc', async (t) => {
  const listeners = [{ address: '127.0.0.1', port: 5060 }];
  const answers = (fd: number, out: Float64Array): boolean => { out[0] = fd * 100; out[1] = fd; return true; };
  const s = udpRxQueueSource(listeners, () => [3, 4], answers);
  t.equal(s.via, 'socket');
  t.same(s.read(), { bytes: 700, drops: 7 }, 'summed over the listeners');
  t.ok(s instanceof SocketRxQueueReader);
  t.same(new SocketRxQueueReader(() => [3, -1], answers).read(), { bytes: 300, drops: 3 }, 'a closed listener (-1) is skipped');
  t.equal(udpRxQueueSource(listeners, () => [3, 4], undefined).via, 'proc', 'no addon');
  t.equal(udpRxQueueSource(listeners, () => [3, 4], (fd, out) => fd === 3 && answers(fd, out)).via, 'proc', 'the addon cannot tell for one socket');
  t.equal(udpRxQueueSource(listeners, () => [-1], answers).via, 'proc', 'a listener without a descriptor');
  t.equal(udpRxQueueSource(listeners, () => [], answers).via, 'proc', 'no listener to ask');
});
