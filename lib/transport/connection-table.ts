// Open stream connections (TCP now, TLS later): ids for connId, lookup by remote address for
// outbound reuse, per-source accounting for accept limits, and the idle timeout policy.
import { isIP, type Socket } from 'node:net';
import type { TransportName } from './types.js';

export interface StreamConnection {
  readonly id: number;
  readonly transport: TransportName;
  readonly socket: Socket;
  readonly remoteAddress: string;
  readonly remotePort: number;
  /** Known at accept for inbound; filled in on 'connect' for outbound. */
  localAddress: string;
  localPort: number;
  /** Accepted from a listener (counts against the per-source limit) rather than dialled by us. */
  readonly inbound: boolean;
  readonly key: string;
  /** Progress of the stream, for the slow-connection sweep (ms timestamps; 0: not applicable). */
  readonly progress: { openedAt: number; messages: number; partialSince: number };
}

export interface ConnectionTableOptions {
  maxConnections: number;
  maxConnectionsPerSource: number;
  idleTimeoutMs: number;
}

/** Lowercased address with an IPv4-mapped IPv6 prefix removed, so both spellings find one peer. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(lower.slice(7)) === 4) return lower.slice(7);
  return lower;
}

export function connectionKey(transport: TransportName, address: string, port: number): string {
  return `${transport}:${normalizeAddress(address)}:${port}`;
}

export type AdmitResult = 'ok' | 'max-connections' | 'max-per-source';

export interface NewConnection {
  transport: TransportName;
  socket: Socket;
  remoteAddress: string;
  remotePort: number;
  localAddress: string;
  localPort: number;
  inbound: boolean;
}

export class ConnectionTable {
  private readonly opts: ConnectionTableOptions;
  private nextId = 1;
  private readonly byId = new Map<number, StreamConnection>();
  private readonly byKey = new Map<string, StreamConnection>();
  private readonly perSource = new Map<string, number>();

  constructor(opts: ConnectionTableOptions) {
    this.opts = { ...opts };
  }

  get size(): number {
    return this.byId.size;
  }

  /** Whether one more connection (from `remoteAddress` when inbound) fits the limits. */
  admits(remoteAddress: string | undefined): AdmitResult {
    if (this.byId.size >= this.opts.maxConnections) return 'max-connections';
    if (remoteAddress !== undefined) {
      const n = this.perSource.get(normalizeAddress(remoteAddress)) ?? 0;
      if (n >= this.opts.maxConnectionsPerSource) return 'max-per-source';
    }
    return 'ok';
  }

  /** Registers a connection under a fresh id (never 0, which means UDP). */
  add(c: NewConnection): StreamConnection {
    const id = this.nextId++;
    const conn: StreamConnection = { ...c, id, key: connectionKey(c.transport, c.remoteAddress, c.remotePort), progress: { openedAt: Date.now(), messages: 0, partialSince: 0 } };
    this.byId.set(id, conn);
    // The newest connection to a peer wins for reuse; older ones stay reachable by id.
    this.byKey.set(conn.key, conn);
    if (conn.inbound) {
      const src = normalizeAddress(conn.remoteAddress);
      this.perSource.set(src, (this.perSource.get(src) ?? 0) + 1);
    }
    return conn;
  }

  /** Starts (or restarts) the idle timer: no traffic either way for idleTimeoutMs emits 'timeout'. */
  armIdle(conn: StreamConnection): void {
    conn.socket.setTimeout(this.opts.idleTimeoutMs);
  }

  remove(conn: StreamConnection): void {
    if (this.byId.get(conn.id) !== conn) return;
    this.byId.delete(conn.id);
    if (this.byKey.get(conn.key) === conn) this.byKey.delete(conn.key);
    if (conn.inbound) {
      const src = normalizeAddress(conn.remoteAddress);
      const n = (this.perSource.get(src) ?? 1) - 1;
      if (n > 0) this.perSource.set(src, n);
      else this.perSource.delete(src);
    }
  }

  get(id: number): StreamConnection | undefined {
    return this.byId.get(id);
  }

  /** An open connection to transport:address:port, for outbound reuse. */
  find(transport: TransportName, address: string, port: number): StreamConnection | undefined {
    return this.byKey.get(connectionKey(transport, address, port));
  }

  sourceCount(remoteAddress: string): number {
    return this.perSource.get(normalizeAddress(remoteAddress)) ?? 0;
  }

  values(): IterableIterator<StreamConnection> {
    return this.byId.values();
  }
}
