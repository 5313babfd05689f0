// Shapes shared by the transport layer and its users (proxy core, shard channel, config), plus the
// two helpers every listener needs.
import type { EventEmitter } from 'node:events';
import { createError } from '../errors.js';

export type TransportName = 'udp' | 'tcp' | 'tls';

export interface ListenerConfig {
  transport: TransportName;
  address: string;
  port: number;
  /** host written in Via/Record-Route instead of the bound address (NAT, wildcard binds) */
  advertise?: string;
}

export interface InboundMessage {
  data: Buffer;
  transport: TransportName;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  /** Connection the message arrived on; 0 for UDP. */
  connId: number;
}

export interface SendTarget {
  transport: TransportName;
  address: string;
  port: number;
  /** Send on this connection if it is still open (responses go back on the request's connection). */
  connId?: number;
  /** Host name the address was resolved from: the TLS server name (SNI) and certificate identity. */
  host?: string;
}

export interface TransportLimits {
  maxMessageBytes: number;
  udpRecvBufferBytes: number;
  udpSendBufferBytes: number;
  /** sendmmsg for shard batches when the native addon is built (default true) */
  udpBatchSend?: boolean;
  /** recvmmsg for UDP listeners when the native addon is built (default true) */
  udpBatchReceive?: boolean;
  tcpIdleTimeoutMs: number;
  /** An inbound connection must deliver its first message, and every message once begun must be
   *  complete, within this (slow-loris and silent connections); 0 or absent: no limit. */
  tcpMessageTimeoutMs?: number;
  tcpConnectTimeoutMs: number;
  maxConnections: number;
  maxConnectionsPerSource: number;
}

/** pino-compatible subset; a pino logger fits. */
export interface TransportLogger {
  info(obj: unknown, msg?: string): void;
  warn(obj: unknown, msg?: string): void;
  error(obj: unknown, msg?: string): void;
  debug(obj: unknown, msg?: string): void;
}

export type IpFamily = 4 | 6;

/** `host:port`, bracketing IPv6, for logs and error messages. */
export function hostPort(address: string, port: number): string {
  return address.includes(':') ? `[${address}]:${port}` : `${address}:${port}`;
}

/**
 * Runs `bind(onBound)` on a server or socket and settles once: resolves when bound, rejects with
 * SIP_ERR_TRANSPORT naming the listener when the emitter reports an error first.
 */
export function bindListener(emitter: EventEmitter, config: ListenerConfig, bind: (onBound: () => void) => void): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(createError('SIP_ERR_TRANSPORT', `cannot bind ${config.transport} ${hostPort(config.address, config.port)}: ${err.message}`));
    };
    emitter.once('error', onError);
    bind(() => {
      emitter.off('error', onError);
      resolve();
    });
  });
}
