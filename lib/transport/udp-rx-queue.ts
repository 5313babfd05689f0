// Bytes waiting in our UDP listeners' kernel receive queues (Linux). When the main thread is the
// bottleneck, datagrams pile up there, not in the shards, and their queue delay passes T1 before
// any shard backlog shows it; overload control samples this every overload.sampleMs.
//
// Asked of each socket itself where the native addon is built (getsockopt SO_MEMINFO: one system
// call per listener). Otherwise read from /proc/net/udp and udp6, which list every UDP socket of
// the host, not just ours: 0.3 ms of CPU per read with a handful, 3.7 ms with 1,000 and 96 ms with
// 10,000 (a media relay beside us holds two per call), every sample, on the main thread
// (bench/PERFORMANCE.md, round 19). Where neither works (not Linux) the signal is absent: 0.
import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { isIPv6 } from 'node:net';
import { ipv4Word, ipv6Words } from '../security/trusted-networks.js';
import { udpAddon } from './udp-addon.js';

export interface UdpRxQueue {
  /** bytes queued (kernel accounting: the buffers' true size, ~1,280 per 500-byte datagram on loopback) */
  bytes: number;
  /** datagrams the kernel dropped on these sockets since they were opened (receive buffer full) */
  drops: number;
}

const hex8 = (word: number, littleEndian: boolean): string => {
  // /proc prints each 32-bit word of the address as stored in memory, read in host byte order
  const w = littleEndian ? ((word & 0xff) << 24 | (word & 0xff00) << 8 | (word >>> 8) & 0xff00 | word >>> 24) >>> 0 : word >>> 0;
  return w.toString(16).toUpperCase().padStart(8, '0');
};

/** The local_address field /proc/net/udp{,6} shows for an IP literal and port ("0100007F:13C4"). */
export function procLocalAddress(address: string, port: number, littleEndian = endianness() === 'LE'): string {
  const ip = isIPv6(address)
    ? Array.from(ipv6Words(address), (w) => hex8(w, littleEndian)).join('')
    : hex8(ipv4Word(address), littleEndian);
  return `${ip}:${port.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Sums rx_queue and drops over the lines of one /proc/net/udp{,6} text whose local_address is in `locals`. */
export function parseUdpRxQueue(text: string, locals: ReadonlySet<string>, into: UdpRxQueue = { bytes: 0, drops: 0 }): UdpRxQueue {
  // columns: sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ref pointer drops
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 5 || !locals.has(f[1]!)) continue;
    const rx = parseInt(f[4]!.slice(f[4]!.indexOf(':') + 1), 16);
    if (Number.isFinite(rx)) into.bytes += rx;
    const drops = f.length >= 13 ? parseInt(f[f.length - 1]!, 10) : NaN;
    if (Number.isFinite(drops)) into.drops += drops;
  }
  return into;
}

/** What overload control samples: the queues of our UDP listeners, and how it learns them. */
export interface UdpRxQueueSource {
  read(): UdpRxQueue;
  readonly via: 'socket' | 'proc';
}

type SocketQueue = (fd: number, out: Float64Array) => boolean;

/** Each listening socket asked for its own queue (the addon's SO_MEMINFO). */
export class SocketRxQueueReader implements UdpRxQueueSource {
  readonly via = 'socket';
  private readonly out = new Float64Array(2);

  /** `fds`: our UDP listeners' descriptors now (a closed one is -1 and is skipped). */
  constructor(private readonly fds: () => readonly number[], private readonly socketQueue: SocketQueue) {}

  read(): UdpRxQueue {
    const q = { bytes: 0, drops: 0 };
    for (const fd of this.fds()) {
      if (fd < 0 || !this.socketQueue(fd, this.out)) continue;
      q.bytes += this.out[0]!;
      q.drops += this.out[1]!;
    }
    return q;
  }
}

/**
 * The sockets themselves when the addon answers for every listener now, else /proc/net/udp{,6}
 * by the listeners' addresses.
 */
export function udpRxQueueSource(
  listeners: ReadonlyArray<{ address: string; port: number }>,
  fds: () => readonly number[],
  socketQueue: SocketQueue | undefined = typeof udpAddon?.socketQueue === 'function' ? udpAddon.socketQueue : undefined,
): UdpRxQueueSource {
  if (socketQueue !== undefined) {
    const out = new Float64Array(2);
    const now = fds();
    if (now.length > 0 && now.every((fd) => fd >= 0 && socketQueue(fd, out))) return new SocketRxQueueReader(fds, socketQueue);
  }
  return new UdpRxQueueReader(listeners);
}

/** Reads the queues of the given bound UDP listeners; { bytes: 0, drops: 0 } when /proc is not there. */
export class UdpRxQueueReader implements UdpRxQueueSource {
  readonly via = 'proc';
  private readonly v4 = new Set<string>();
  private readonly v6 = new Set<string>();

  constructor(listeners: ReadonlyArray<{ address: string; port: number }>, private readonly procDir = '/proc/net') {
    for (const l of listeners) (isIPv6(l.address) ? this.v6 : this.v4).add(procLocalAddress(l.address, l.port));
  }

  read(): UdpRxQueue {
    const out = { bytes: 0, drops: 0 };
    if (this.v4.size > 0) this.readFile('udp', this.v4, out);
    if (this.v6.size > 0) this.readFile('udp6', this.v6, out);
    return out;
  }

  private readFile(name: string, locals: Set<string>, out: UdpRxQueue): void {
    try {
      parseUdpRxQueue(readFileSync(`${this.procDir}/${name}`, 'latin1'), locals, out);
    } catch {
      // no /proc (not Linux, a sandbox without it, a kernel without IPv6): absent, and not retried
      locals.clear();
    }
  }
}
