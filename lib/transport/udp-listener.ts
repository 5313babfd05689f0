// One UDP socket per listener: each datagram is one SIP message (RFC 3261 18.3), and replies are
// sent from the same socket so their source port is our listening port.
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { isIPv6 } from 'node:net';
import { bindListener, hostPort, type IpFamily, type ListenerConfig, type TransportLimits, type TransportLogger } from './types.js';
import { BatchReceiver, udpBatchReceiveAvailable } from './udp-batch-receive.js';

export type DatagramHandler = (data: Buffer, rinfo: RemoteInfo, listener: UdpListener) => void;

/** What this code uses of dgram's internal UDP handle (reached by its symbol, as Node keeps it). */
interface UdpHandle { fd?: unknown; recvStart?: () => number; recvStop?: () => number }

export class UdpListener {
  readonly config: ListenerConfig;
  readonly family: IpFamily;
  private readonly socket: Socket;
  private readonly limits: TransportLimits;
  private readonly logger: TransportLogger;
  private bound: ListenerConfig | undefined;
  private boundFd = -1;
  private closed = false;
  /** recvmmsg reading in place of dgram's (transport.udpBatchReceive and the addon) */
  private receiver: BatchReceiver | undefined;

  constructor(config: ListenerConfig, limits: TransportLimits, logger: TransportLogger, private readonly onDatagram: DatagramHandler) {
    this.config = config;
    this.limits = limits;
    this.logger = logger;
    this.family = isIPv6(config.address) ? 6 : 4;
    const family = this.family;
    this.socket = createSocket({
      type: family === 6 ? 'udp6' : 'udp4', ipv6Only: family === 6,
      // every address we bind or send to is an IP literal (checked by the callers): skip dns.lookup's
      // checks and its process.nextTick per datagram, and send at once
      lookup: (address, _options, callback) => callback(null, address, family),
    });
    this.socket.on('message', (data, rinfo) => this.onDatagram(data, rinfo, this));
  }

  /**
   * The socket's file descriptor while bound and open, else -1: batched sends (udp-batch-send.ts)
   * write to it directly. Node keeps it on the socket's internal handle, reached by its symbol.
   */
  get fd(): number {
    return this.closed ? -1 : this.boundFd;
  }

  /** dgram's handle of the socket, reached by its symbol. */
  private handle(): UdpHandle | undefined {
    const state = Object.getOwnPropertySymbols(this.socket).find((s) => s.description === 'state symbol');
    return state === undefined ? undefined : (this.socket as unknown as Record<symbol, { handle?: UdpHandle } | undefined>)[state]?.handle;
  }

  /** Read once after bind (every batch asks for it). */
  private readFd(): number {
    const fd = this.handle()?.fd;
    return typeof fd === 'number' && fd >= 0 ? fd : -1;
  }

  /** Datagrams are read with recvmmsg (the addon) rather than by dgram. */
  get batchReceiving(): boolean {
    return this.receiver !== undefined;
  }

  /**
   * Reading moves to the addon: dgram's stops (its handle's recvStop, what dgram's own close
   * does), the addon polls a duplicate of the descriptor. Any failure leaves dgram reading.
   */
  private startBatchReceive(): void {
    if (this.limits.udpBatchReceive === false || !udpBatchReceiveAvailable || this.boundFd < 0) return;
    const h = this.handle();
    if (typeof h?.recvStop !== 'function' || typeof h.recvStart !== 'function') return;
    h.recvStop();
    try {
      this.receiver = new BatchReceiver(this.boundFd, (data, rinfo) => this.onDatagram(data, rinfo, this));
    } catch (err) {
      h.recvStart();
      this.logger.warn({ err, listener: hostPort(this.config.address, this.config.port) }, 'UDP batch receive unavailable; reading through dgram');
    }
  }

  /** Address and real port once bound (port 0 resolved). */
  get boundConfig(): ListenerConfig | undefined {
    return this.bound;
  }

  async listen(): Promise<ListenerConfig> {
    const { transport, address, port } = this.config;
    await bindListener(this.socket, this.config, (done) => this.socket.bind({ address, port }, done));
    // After bind, a send failure (ICMP unreachable, EPERM...) surfaces here: log, never crash.
    this.socket.on('error', (err) => this.logger.debug({ err, address, port }, 'udp socket error'));
    this.applyBufferSizes();
    this.bound = { transport, address, port: this.socket.address().port };
    this.boundFd = this.readFd();
    this.startBatchReceive();
    return this.bound;
  }

  /** Kernel caps (net.core.rmem_max) may shrink the request: log what we got, do not fail. */
  private applyBufferSizes(): void {
    const { udpRecvBufferBytes, udpSendBufferBytes } = this.limits;
    const where = hostPort(this.config.address, this.config.port);
    try {
      if (udpRecvBufferBytes > 0) this.socket.setRecvBufferSize(udpRecvBufferBytes);
      if (udpSendBufferBytes > 0) this.socket.setSendBufferSize(udpSendBufferBytes);
    } catch (err) {
      this.logger.warn({ err, listener: where }, 'could not set UDP socket buffer sizes');
    }
    const recv = this.socket.getRecvBufferSize();
    const send = this.socket.getSendBufferSize();
    // Linux reports twice the granted size (bookkeeping), so a smaller figure means it was capped.
    const level = recv < udpRecvBufferBytes || send < udpSendBufferBytes ? 'warn' : 'info';
    this.logger[level](
      { listener: where, requestedRecv: udpRecvBufferBytes, recv, requestedSend: udpSendBufferBytes, send },
      'UDP socket buffer sizes',
    );
  }

  send(data: Buffer, port: number, address: string): void {
    // No callback: errors arrive as 'error' events, handled above; no closure per message.
    this.socket.send(data, port, address);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    // the duplicate descriptor holds the port too: closed before the socket
    const receiver = this.receiver;
    this.receiver = undefined;
    if (receiver !== undefined) await receiver.stop();
    await new Promise<void>((resolve) => {
      try {
        this.socket.close(() => resolve());
      } catch {
        resolve(); // never bound
      }
    });
  }
}
