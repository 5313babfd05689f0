// The Node.js servers of bench/floor.ts. Each sends every datagram back with its first line
// replaced by 'SIP/2.0 200 OK' and does nothing else (echo.c is the C one):
//   dgram: node:dgram reads and answers each datagram, a Node server written the usual way;
//   ours:  our proxy's own UDP path: recvmmsg through the addon (UdpListener's batch receive), the
//          answers packed in a run and sent with sendmmsg at the end of the event-loop turn, as
//          the main thread sends a shard's answers (lib/transport/udp-batch-send.ts).
// Usage: node dist/bench/floor/echo-server.js dgram|ours <port>
import { createSocket } from 'node:dgram';
import { UdpListener } from '../../lib/transport/udp-listener.js';
import { sendPackedUdp } from '../../lib/transport/udp-batch-send.js';
import { SourceTargets } from '../../lib/transport/source-targets.js';
import type { TransportLogger } from '../../lib/transport/types.js';
import { SipRunWriter } from '../../lib/shard/sip-frames.js';

const STATUS = Buffer.from('SIP/2.0 200 OK', 'latin1');
/** as the bench gives Kamailio and our proxy */
const RCVBUF = 4 * 1024 * 1024;

/** The datagram with its first line replaced by STATUS; undefined when it has no CR. */
function answerOf(data: Buffer): Buffer | undefined {
  const eol = data.indexOf(0x0d);
  if (eol < 0) return undefined;
  const out = Buffer.allocUnsafe(STATUS.length + data.length - eol);
  STATUS.copy(out, 0);
  data.copy(out, STATUS.length, eol);
  return out;
}

function dgramServer(port: number): void {
  const socket = createSocket('udp4');
  socket.on('message', (data, from) => {
    const answer = answerOf(data);
    if (answer !== undefined) socket.send(answer, from.port, from.address);
  });
  socket.bind(port, '127.0.0.1', () => socket.setRecvBufferSize(RCVBUF));
}

async function ourPathServer(port: number): Promise<void> {
  const log: TransportLogger = { debug: () => undefined, info: () => undefined, warn: (o, m) => console.error(m, o), error: (o, m) => console.error(m, o) };
  const limits = { maxMessageBytes: 65535, udpRecvBufferBytes: RCVBUF, udpSendBufferBytes: 0, tcpIdleTimeoutMs: 0, tcpConnectTimeoutMs: 0, maxConnections: 0, maxConnectionsPerSource: 0 };
  const sources = new SourceTargets();
  let run = new SipRunWriter();
  let flushScheduled = false;
  const flush = (): void => {
    flushScheduled = false;
    const packed = run.close();
    if (packed !== undefined) sendPackedUdp(packed, { fd4: listener.fd, fd6: -1 }, 65535);
  };
  const listener = new UdpListener({ transport: 'udp', address: '127.0.0.1', port }, limits, log, (data, from) => {
    const answer = answerOf(data);
    if (answer === undefined) return;
    run.add(answer, sources.of('udp', from.address, from.port, 0));
    if (!flushScheduled) {
      flushScheduled = true;
      setImmediate(flush);
    }
  });
  await listener.listen();
  if (!listener.batchReceiving) console.error('the UDP addon is not built: reading through dgram');
}

const [mode, portText] = process.argv.slice(2);
const port = Number(portText);
if (!Number.isInteger(port) || port <= 0 || port > 65535 || (mode !== 'dgram' && mode !== 'ours')) {
  console.error('usage: node dist/bench/floor/echo-server.js dgram|ours <port>');
  process.exit(2);
}
if (mode === 'dgram') dgramServer(port);
else await ourPathServer(port);
