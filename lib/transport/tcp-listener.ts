// Stream listener: accepts connections, enforces the connection limits and reads each connection
// through a StreamFramer. TLS reuses it unchanged with a tls.Server and 'secureConnection'.
import { createServer, type Server, type Socket } from 'node:net';
import type { SipProxyError } from '../errors.js';
import type { ConnectionTable, StreamConnection } from './connection-table.js';
import { StreamFramer } from './stream-framer.js';
import { bindListener, type ListenerConfig, type TransportLogger } from './types.js';

/** What a stream connection reports to its owner; implementations must not throw. */
export interface StreamEvents {
  message(conn: StreamConnection, data: Buffer): void;
  keepAlive(conn: StreamConnection): void;
  framingError(conn: StreamConnection, err: SipProxyError): void;
  /** No traffic for the idle timeout, or (connecting) the connect timeout expired. */
  timeout(conn: StreamConnection, connecting: boolean): void;
  socketError(conn: StreamConnection, err: Error, connecting: boolean): void;
  closed(conn: StreamConnection): void;
  rejected(remoteAddress: string, reason: string): void;
}

const CRLF = Buffer.from('\r\n');

/** Wires a registered connection's socket to a framer and the owner's events. */
export function attachStream(conn: StreamConnection, maxMessageBytes: number, events: StreamEvents): void {
  const { socket } = conn;
  const framer = new StreamFramer({
    maxMessageBytes,
    onMessage: (buf) => { conn.progress.messages++; events.message(conn, buf); },
    onKeepAlive: () => {
      // RFC 5626 3.5.1: a double-CRLF ping is answered with a single CRLF pong.
      if (socket.writable) socket.write(CRLF);
      events.keepAlive(conn);
    },
    onError: (err) => {
      // A 400 cannot be framed reliably once the stream is out of sync: drop the connection.
      events.framingError(conn, err);
      socket.destroy();
    },
  });
  // socket.connecting is already false when a failed connect reports its error: track it here.
  let connecting = socket.connecting;
  if (connecting) socket.once('connect', () => (connecting = false));
  const progress = conn.progress;
  socket.on('data', (chunk: Buffer) => {
    framer.push(chunk);
    // a message begun and not yet complete: the slow-connection sweep times it from here
    if (framer.bufferedBytes === 0) progress.partialSince = 0;
    else if (progress.partialSince === 0) progress.partialSince = Date.now();
  });
  socket.on('timeout', () => {
    events.timeout(conn, connecting);
    socket.destroy();
  });
  socket.on('error', (err) => events.socketError(conn, err, connecting));
  socket.on('close', () => events.closed(conn));
}

export interface StreamListenerDeps {
  table: ConnectionTable;
  maxMessageBytes: number;
  events: StreamEvents;
  logger: TransportLogger;
  /** Per-source admission (rate limit, bans) before the connection limits; absent: all admitted. */
  admit?: (remoteAddress: string) => boolean;
  /** Defaults to a plain net.Server; pass a tls.Server (with 'secureConnection') for TLS. */
  server?: Server;
  connectionEvent?: 'connection' | 'secureConnection';
}

export class TcpListener {
  readonly config: ListenerConfig;
  private readonly deps: StreamListenerDeps;
  private readonly server: Server;
  private bound: ListenerConfig | undefined;

  constructor(config: ListenerConfig, deps: StreamListenerDeps) {
    this.config = config;
    this.deps = deps;
    this.server = deps.server ?? createServer({ noDelay: true });
    this.server.on(deps.connectionEvent ?? 'connection', (socket: Socket) => this.accept(socket));
  }

  /** Address and real port once listening (port 0 resolved). */
  get boundConfig(): ListenerConfig | undefined {
    return this.bound;
  }

  async listen(): Promise<ListenerConfig> {
    const { transport, address, port } = this.config;
    // ipv6Only: a '::' listener must not swallow IPv4, which has its own listener.
    await bindListener(this.server, this.config, (done) => this.server.listen({ host: address, port, ipv6Only: true }, done));
    this.server.on('error', (err) => this.deps.logger.error({ err, transport, address }, 'listener error'));
    const info = this.server.address();
    this.bound = { transport, address, port: info !== null && typeof info === 'object' ? info.port : port };
    return this.bound;
  }

  private accept(socket: Socket): void {
    const { table, events, maxMessageBytes } = this.deps;
    const remoteAddress = socket.remoteAddress;
    const remotePort = socket.remotePort;
    if (remoteAddress === undefined || remotePort === undefined) {
      socket.destroy(); // already gone
      return;
    }
    const verdict = this.deps.admit?.(remoteAddress) === false ? 'banned' : table.admits(remoteAddress);
    if (verdict !== 'ok') {
      socket.on('error', () => {}); // a reset racing the destroy must not become an uncaught error
      socket.destroy();
      events.rejected(remoteAddress, verdict);
      return;
    }
    const conn = table.add({
      transport: this.config.transport,
      socket,
      remoteAddress,
      remotePort,
      localAddress: socket.localAddress ?? this.config.address,
      localPort: socket.localPort ?? this.bound?.port ?? this.config.port,
      inbound: true,
    });
    table.armIdle(conn);
    // a peer that vanished without FIN (half-open) is found by TCP keep-alive, not only by idling
    socket.setKeepAlive(true, 30_000);
    attachStream(conn, maxMessageBytes, events);
  }

  /** Stops accepting; open connections are closed by their owner (the table). */
  close(): Promise<void> {
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      this.server.close(() => resolve());
    });
  }
}
