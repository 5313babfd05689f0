// Owns every socket of the main thread: binds the listeners, delivers one InboundMessage per framed
// message to `onMessage`, sends on the right socket or connection, and keeps the counters.
import type { RemoteInfo } from 'node:dgram';
import { connect, isIP, type Socket } from 'node:net';
import { connect as tlsConnect } from 'node:tls';
import { createError, type SipProxyError } from '../errors.js';
import { ConnectionTable, type StreamConnection } from './connection-table.js';
import { TcpListener, attachStream, type StreamEvents } from './tcp-listener.js';
import { connectOptions, createTlsServer, type TlsSettings } from './tls-listener.js';
import {
  hostPort,
  type InboundMessage,
  type IpFamily,
  type ListenerConfig,
  type SendTarget,
  type TransportLimits,
  type TransportLogger,
  type TransportName,
} from './types.js';
import { UdpListener } from './udp-listener.js';
import { forEachSip, type PackedSip } from '../shard/sip-frames.js';
import { sendPackedUdp, udpBatchSendAvailable, type UdpSockets } from './udp-batch-send.js';

export interface TransportManagerOptions {
  listeners: ListenerConfig[];
  limits: TransportLimits;
  logger?: TransportLogger;
  /** certificate and options for tls listeners and outbound TLS (required with a tls listener) */
  tls?: TlsSettings;
}

export interface TransportStats {
  received: Record<TransportName, number>;
  sent: Record<TransportName, number>;
  framingErrors: number;
  droppedOversize: number;
  openConnections: number;
  rejectedConnections: number;
  idleClosed: number;
  connectFailures: number;
  sendErrors: number;
  keepAlives: number;
  handlerErrors: number;
  tlsHandshakeFailures: number;
  /** connections closed for a message that took too long, or no first message in time */
  slowClosed: number;
}

type Counters = Omit<TransportStats, 'openConnections' | 'received' | 'sent'>;

const noop = (): void => {};
const silentLogger: TransportLogger = { info: noop, warn: noop, error: noop, debug: noop };

/** A connection whose peer stops reading is dropped once this much output is queued. */
const MIN_WRITE_QUEUE_BYTES = 1024 * 1024;

export class TransportManager {
  /** Called once per framed message; must be assigned before start(). Exceptions are caught and counted. */
  onMessage: (msg: InboundMessage) => void = noop;

  private readonly listenerConfigs: readonly ListenerConfig[];
  private readonly limits: Readonly<TransportLimits>;
  private readonly logger: TransportLogger;
  private readonly table: ConnectionTable;
  private readonly events: StreamEvents;
  private readonly maxWriteQueue: number;
  private udp: UdpListener[] = [];
  private tcp: TcpListener[] = [];
  private readonly received: Record<TransportName, number> = { udp: 0, tcp: 0, tls: 0 };
  private readonly sent: Record<TransportName, number> = { udp: 0, tcp: 0, tls: 0 };
  private readonly counters: Counters = {
    framingErrors: 0,
    droppedOversize: 0,
    rejectedConnections: 0,
    idleClosed: 0,
    connectFailures: 0,
    sendErrors: 0,
    keepAlives: 0,
    handlerErrors: 0,
    tlsHandshakeFailures: 0,
    slowClosed: 0,
  };
  private readonly tls: TlsSettings | undefined;
  /** Per-source admission of inbound TCP connections (rate limit, bans); may be replaced before start(). */
  admitConnection: (remoteAddress: string) => boolean = () => true;
  private slowSweep: NodeJS.Timeout | undefined;
  /** net.isIP is a regex match: once per destination address, not per datagram */
  private readonly families = new AddressFamilies();

  constructor(opts: TransportManagerOptions) {
    validate(opts);
    this.listenerConfigs = opts.listeners.map((l) => ({ ...l }));
    this.limits = Object.freeze({ ...opts.limits });
    this.logger = opts.logger ?? silentLogger;
    this.tls = opts.tls;
    this.maxWriteQueue = Math.max(MIN_WRITE_QUEUE_BYTES, 16 * this.limits.maxMessageBytes);
    this.table = new ConnectionTable({
      maxConnections: this.limits.maxConnections,
      maxConnectionsPerSource: this.limits.maxConnectionsPerSource,
      idleTimeoutMs: this.limits.tcpIdleTimeoutMs,
    });
    this.events = this.streamEvents();
  }

  /** Binds every listener; on any failure closes those already bound and rejects (SIP_ERR_TRANSPORT). */
  async start(): Promise<void> {
    const onDatagram = (data: Buffer, rinfo: RemoteInfo, l: UdpListener): void => this.onDatagram(data, rinfo, l);
    for (const config of this.listenerConfigs) {
      if (config.transport === 'udp') {
        this.udp.push(new UdpListener(config, this.limits, this.logger, onDatagram));
      } else {
        const deps = { table: this.table, maxMessageBytes: this.limits.maxMessageBytes, events: this.events, logger: this.logger, admit: (a: string) => this.admitConnection(a) };
        if (config.transport === 'tls') {
          const server = createTlsServer(this.tls!, (err, remoteAddress) => this.tlsFailed(err, remoteAddress, 'inbound'));
          this.tcp.push(new TcpListener(config, { ...deps, server, connectionEvent: 'secureConnection' }));
        } else {
          this.tcp.push(new TcpListener(config, deps));
        }
      }
    }
    try {
      for (const l of [...this.udp, ...this.tcp]) {
        const bound = await l.listen();
        this.logger.info({ listener: `${bound.transport}:${hostPort(bound.address, bound.port)}` }, 'listening');
      }
    } catch (err) {
      await this.close();
      throw err;
    }
    const slowMs = this.limits.tcpMessageTimeoutMs ?? 0;
    if (this.tcp.length > 0 && slowMs > 0) {
      this.slowSweep = setInterval(() => this.closeSlow(slowMs), Math.min(1000, slowMs));
      this.slowSweep.unref();
    }
  }

  /** Slow-loris defence: a message must not take longer than `ms` to arrive, nor the first one. */
  private closeSlow(ms: number): void {
    const now = Date.now();
    for (const conn of this.table.values()) {
      const p = conn.progress;
      const silent = conn.inbound && p.messages === 0 && p.partialSince === 0 && now - p.openedAt > ms;
      if (!silent && !(p.partialSince > 0 && now - p.partialSince > ms)) continue;
      this.counters.slowClosed++;
      this.logger.warn({ connId: conn.id, peer: hostPort(conn.remoteAddress, conn.remotePort), messages: p.messages }, silent ? 'no message in time: closing connection' : 'message too slow: closing connection');
      conn.socket.destroy();
    }
  }

  /** Listener configs with the real port (port 0 resolved), in configuration order. */
  boundListeners(): ListenerConfig[] {
    const out: ListenerConfig[] = [];
    for (const l of [...this.udp, ...this.tcp]) if (l.boundConfig !== undefined) out.push({ ...l.boundConfig });
    return out;
  }

  /** Listener address/port for building Via and Record-Route (a wildcard address stays wildcard). */
  localAddressFor(transport: TransportName, family: IpFamily): { address: string; port: number } | undefined {
    for (const l of this.boundListeners()) {
      if (l.transport === transport && familyOf(l.address) === family) return { address: l.address, port: l.port };
    }
    return undefined;
  }

  /** every UDP listener reads with recvmmsg (config and addon); false with none */
  get batchReceiving(): boolean {
    return this.udp.length > 0 && this.udp.every((u) => u.batchReceiving);
  }

  /** sendmmsg batches are on (config and addon) and the sockets are bound */
  get batchSending(): boolean {
    return this.limits.udpBatchSend !== false && udpBatchSendAvailable && this.udpSockets() !== undefined;
  }

  /**
   * Every message of a shard's packed run: UDP ones to IP addresses in sendmmsg batches when the
   * addon is there, the rest (streams, and what a full socket buffer left) one by one as send().
   */
  sendPacked(p: PackedSip): void {
    const sockets = this.limits.udpBatchSend === false ? undefined : this.udpSockets();
    const r = sockets === undefined ? undefined : sendPackedUdp(p, sockets, this.limits.maxMessageBytes);
    if (r === undefined) { forEachSip(p, (data, target) => this.send(target, data)); return; }
    this.sent.udp += r.sent;
    if (r.failed > 0) {
      this.counters.sendErrors += r.failed;
      this.logger.warn({ failed: r.failed, errno: r.lastErrno }, 'send failed (UDP batch)');
    }
    if (r.stoppedAt === p.b.byteLength && !r.mine.includes(false)) return; // nothing left
    forEachSip(p, (data, target) => this.send(target, data), (i, at) => !r.mine[i] || at >= r.stoppedAt);
  }

  /** Every UDP listener's socket descriptor (-1 for one not open). */
  udpFds(): number[] {
    return this.udp.map((u) => u.fd);
  }

  /** The first UDP listener's socket of each family, undefined when there is none open. */
  private udpSockets(): UdpSockets | undefined {
    let fd4 = -1;
    let fd6 = -1;
    for (const u of this.udp) {
      if (u.family === 4 && fd4 === -1) fd4 = u.fd;
      else if (u.family === 6 && fd6 === -1) fd6 = u.fd;
    }
    return fd4 === -1 && fd6 === -1 ? undefined : { fd4, fd6 };
  }

  send(target: SendTarget, data: Buffer): void {
    try {
      if (target.transport === 'udp') this.sendUdp(target, data);
      else this.sendStream(target, data);
    } catch (err) {
      this.sendFailed(target, (err as Error).message);
    }
  }

  stats(): TransportStats {
    return {
      received: { ...this.received },
      sent: { ...this.sent },
      ...this.counters,
      openConnections: this.table.size,
    };
  }

  async close(): Promise<void> {
    if (this.slowSweep !== undefined) clearInterval(this.slowSweep);
    for (const conn of [...this.table.values()]) conn.socket.destroy();
    const listeners = [...this.udp, ...this.tcp];
    this.udp = [];
    this.tcp = [];
    await Promise.all(listeners.map((l) => l.close()));
  }

  private onDatagram(data: Buffer, rinfo: RemoteInfo, l: UdpListener): void {
    if (data.length > this.limits.maxMessageBytes) {
      this.counters.droppedOversize++;
      return;
    }
    if (isOnlyCrlf(data)) {
      this.counters.keepAlives++; // CRLF keep-alives some UAs send over UDP
      return;
    }
    const bound = l.boundConfig ?? l.config;
    this.dispatch({
      data,
      transport: 'udp',
      remoteAddress: rinfo.address,
      remotePort: rinfo.port,
      localAddress: bound.address,
      localPort: bound.port,
      connId: 0,
    });
  }

  private dispatch(msg: InboundMessage): void {
    this.received[msg.transport]++;
    try {
      this.onMessage(msg);
    } catch (err) {
      this.counters.handlerErrors++;
      this.logger.error({ err, transport: msg.transport, connId: msg.connId }, 'onMessage handler threw');
    }
  }

  private sendUdp(target: SendTarget, data: Buffer): void {
    const family = this.families.of(target.address);
    let l: UdpListener | undefined;
    for (const u of this.udp) if (u.family === family) { l = u; break; }
    if (l === undefined) return this.sendFailed(target, family === 0 ? 'not an IP address' : `no IPv${family} UDP listener`);
    if (data.length > this.limits.maxMessageBytes) return this.sendFailed(target, 'message larger than maxMessageBytes');
    l.send(data, target.port, target.address);
    this.sent.udp++;
  }

  private sendStream(target: SendTarget, data: Buffer): void {
    const byId = target.connId ? this.table.get(target.connId) : undefined;
    const conn = byId ?? this.table.find(target.transport, target.address, target.port) ?? this.connect(target);
    if (conn === undefined) return;
    const { socket } = conn;
    if (socket.destroyed || !socket.writable) return this.sendFailed(target, 'connection closed');
    // Writes before 'connect' are queued by net.Socket itself and flushed once connected.
    socket.write(data);
    this.sent[conn.transport]++;
    if (socket.writableLength > this.maxWriteQueue) {
      this.logger.warn({ connId: conn.id, queued: socket.writableLength }, 'peer not reading: closing connection');
      socket.destroy();
    }
  }

  /** Dials a new outbound stream; it is read like an accepted one so responses reach onMessage. */
  private connect(target: SendTarget): StreamConnection | undefined {
    const family = familyOf(target.address);
    if (family === 0) return void this.sendFailed(target, 'not an IP address');
    if (this.table.admits(undefined) !== 'ok') {
      this.counters.rejectedConnections++;
      return void this.sendFailed(target, 'connection limit reached');
    }
    // Dial from the listener's address when it is a specific one, so the peer sees a known source.
    const local = this.localAddressFor(target.transport, family);
    const localAddress = local !== undefined && !isWildcard(local.address) ? local.address : undefined;
    const socket = target.transport === 'tls' ? this.connectTls(target, localAddress) : connect({ host: target.address, port: target.port, family, localAddress, noDelay: true });
    const conn = this.table.add({
      transport: target.transport,
      socket,
      remoteAddress: target.address,
      remotePort: target.port,
      localAddress: localAddress ?? '',
      localPort: 0,
      inbound: false,
    });
    socket.setTimeout(this.limits.tcpConnectTimeoutMs);
    socket.once('connect', () => {
      conn.localAddress = socket.localAddress ?? conn.localAddress;
      conn.localPort = socket.localPort ?? 0;
      this.table.armIdle(conn);
    });
    attachStream(conn, this.limits.maxMessageBytes, this.events);
    return conn;
  }

  /** Verified TLS to the peer (connection reused by the table like TCP); writes wait for the handshake. */
  private connectTls(target: SendTarget, localAddress: string | undefined): Socket {
    // tls.connect passes socket.connect() options such as localAddress on (not in @types/node)
    const options = { ...connectOptions(this.tls, target.host), host: target.address, port: target.port, localAddress };
    const socket = tlsConnect(options);
    socket.setNoDelay(true);
    const onError = (err: Error): void => this.tlsFailed(err, target.address, 'outbound');
    socket.once('error', onError);
    socket.once('secureConnect', () => socket.off('error', onError));
    return socket;
  }

  private tlsFailed(err: Error, remoteAddress: string | undefined, direction: 'inbound' | 'outbound'): void {
    this.counters.tlsHandshakeFailures++;
    const code = (err as NodeJS.ErrnoException).code;
    this.logger.warn({ remoteAddress, direction, code, reason: err.message }, 'TLS handshake failed');
  }

  private sendFailed(target: SendTarget, reason: string): void {
    this.counters.sendErrors++;
    this.logger.warn({ target: `${target.transport}:${hostPort(target.address, target.port)}`, reason }, 'send failed');
  }

  private streamEvents(): StreamEvents {
    return {
      message: (conn: StreamConnection, data: Buffer) =>
        this.dispatch({
          data,
          transport: conn.transport,
          remoteAddress: conn.remoteAddress,
          remotePort: conn.remotePort,
          localAddress: conn.localAddress,
          localPort: conn.localPort,
          connId: conn.id,
        }),
      keepAlive: () => {
        this.counters.keepAlives++;
      },
      framingError: (conn: StreamConnection, err: SipProxyError) => {
        if (err.code === 'SIP_ERR_TOO_LARGE') this.counters.droppedOversize++;
        else this.counters.framingErrors++;
        this.logger.warn({ connId: conn.id, peer: hostPort(conn.remoteAddress, conn.remotePort), code: err.code, msg: err.message }, 'closing stream');
      },
      timeout: (conn: StreamConnection, connecting: boolean) => {
        if (connecting) this.counters.connectFailures++;
        else this.counters.idleClosed++;
        this.logger.debug({ connId: conn.id, connecting }, connecting ? 'connect timeout' : 'idle connection closed');
      },
      socketError: (conn: StreamConnection, err: Error, connecting: boolean) => {
        if (!connecting) return void this.logger.debug({ err, connId: conn.id }, 'stream socket error');
        this.counters.connectFailures++;
        this.logger.warn({ err, connId: conn.id, peer: hostPort(conn.remoteAddress, conn.remotePort) }, 'connect failed');
      },
      closed: (conn: StreamConnection) => this.table.remove(conn),
      rejected: (remoteAddress: string, reason: string) => {
        this.counters.rejectedConnections++;
        // a banned source is logged once, when banned (lib/security/source-guard.ts)
        if (reason === 'banned') return;
        this.logger.warn({ remoteAddress, reason }, 'connection rejected');
      },
    };
  }
}

function familyOf(address: string): IpFamily | 0 {
  const v = isIP(address);
  return v === 4 || v === 6 ? v : 0;
}

/** familyOf, remembered per address (bounded: starts over past its size). */
class AddressFamilies {
  private readonly known = new Map<string, IpFamily | 0>();

  of(address: string): IpFamily | 0 {
    let f = this.known.get(address);
    if (f === undefined) {
      if (this.known.size >= 10_000) this.known.clear();
      f = familyOf(address);
      this.known.set(address, f);
    }
    return f;
  }
}

function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

function isOnlyCrlf(data: Buffer): boolean {
  for (let i = 0; i < data.length; i++) if (data[i] !== 0x0d && data[i] !== 0x0a) return false;
  return true;
}

function validate(opts: TransportManagerOptions): void {
  for (const l of opts.listeners) {
    if (l.transport === 'tls' && opts.tls?.server.cert === undefined) throw createError('SIP_ERR_CONFIG', `tls listener ${hostPort(l.address, l.port)}: no certificate`);
    if (isIP(l.address) === 0) throw createError('SIP_ERR_CONFIG', `listener address must be an IP address, got ${JSON.stringify(l.address)}`);
    if (!Number.isInteger(l.port) || l.port < 0 || l.port > 65535) throw createError('SIP_ERR_CONFIG', `listener port out of range: ${l.port}`);
  }
  for (const [k, v] of Object.entries(opts.limits)) {
    if (k === 'udpBatchSend' || k === 'udpBatchReceive') {
      if (typeof v !== 'boolean' && v !== undefined) throw createError('SIP_ERR_CONFIG', `transport limit ${k} must be true or false, got ${String(v)}`);
      continue;
    }
    if (!Number.isInteger(v) || v < 0) throw createError('SIP_ERR_CONFIG', `transport limit ${k} must be a non-negative integer, got ${v}`);
  }
  if (opts.limits.maxMessageBytes < 1) throw createError('SIP_ERR_CONFIG', 'transport limit maxMessageBytes must be positive');
}
