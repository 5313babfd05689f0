// A listening UDP socket read with recvmmsg(2) through the optional native addon
// (native/udp_batch.c): up to 64 datagrams per system call, handed over in one ArrayBuffer with
// one JS call, where dgram makes a Buffer (an ArrayBuffer each), a rinfo object with a new
// address string and a JS call per datagram. The socket stays dgram's: bound, written to and
// closed by it, its own reading stopped; the addon polls a duplicate of its descriptor.
import type { RemoteInfo } from 'node:dgram';
import { networkInterfaces } from 'node:os';
import { SocketAddress } from 'node:net';
import { createError } from '../errors.js';
import { udpAddon, type UdpBatchAddon } from './udp-addon.js';

const addon = typeof udpAddon?.recvStart === 'function' && typeof udpAddon.recvStop === 'function'
  ? udpAddon as Pick<UdpBatchAddon, 'recvStart' | 'recvStop'> : undefined;

/** True when the addon loaded (Linux, built at install). */
export const udpBatchReceiveAvailable = addon !== undefined;

/** As native/udp_batch.c lays them out: datagrams per call, and int32s per datagram. */
const RECV_BATCH = 64;
const META = 9;
/** Past this many distinct source addresses the text cache starts over (it is only a cache). */
const MAX_CACHED = 4096;

export type BatchDatagramHandler = (data: Buffer, rinfo: RemoteInfo) => void;

export class BatchReceiver {
  private handle: object | undefined;
  private readonly meta = new Int32Array(RECV_BATCH * META);
  /** address text by its IPv4 bytes as one int32: no string built per datagram */
  private readonly v4 = new Map<number, string>();
  private readonly v6 = new Map<string, string>();

  /** Starts polling `fd` (throws SIP_ERR_NATIVE_UDP when it cannot: the caller keeps dgram). */
  constructor(fd: number, private readonly onDatagram: BatchDatagramHandler) {
    if (addon === undefined) throw createError('SIP_ERR_NATIVE_UDP', 'udp batch receive: addon not built');
    this.handle = addon.recvStart(fd, this.meta, (data, count) => this.onBatch(data, count));
  }

  private onBatch(data: ArrayBuffer, count: number): void {
    const m = this.meta;
    for (let i = 0; i < count; i++) {
      const k = i * META;
      const len = m[k + 1]!;
      // -1: cut short. The addon's 64 KB buffer holds any UDP payload (65,527 bytes at most), so
      // this cannot happen; such a datagram would be over maxMessageBytes and dropped anyway.
      if (len < 0) continue;
      const family = m[k + 2]!;
      const port = m[k + 3]!;
      const address = family === 4 ? this.v4Text(m[k + 4]!) : this.v6Text(m, k + 4);
      this.onDatagram(Buffer.from(data, m[k]!, len), { address, family: family === 4 ? 'IPv4' : 'IPv6', port, size: len });
    }
  }

  private v4Text(bytes: number): string {
    let s = this.v4.get(bytes);
    if (s === undefined) {
      // the address's bytes in memory order (network order) read as a little-endian int32
      s = `${bytes & 0xff}.${(bytes >>> 8) & 0xff}.${(bytes >>> 16) & 0xff}.${bytes >>> 24}`;
      if (this.v4.size >= MAX_CACHED) this.v4.clear();
      this.v4.set(bytes, s);
    }
    return s;
  }

  /** RFC 5952 text (as dgram gives it), with the interface's name for a scoped address. */
  private v6Text(m: Int32Array, at: number): string {
    const key = `${m[at]},${m[at + 1]},${m[at + 2]},${m[at + 3]},${m[at + 4]}`;
    let s = this.v6.get(key);
    if (s === undefined) {
      const b = Buffer.from(m.buffer, m.byteOffset + at * 4, 16);
      const groups: string[] = [];
      for (let g = 0; g < 8; g++) groups.push(b.readUInt16BE(g * 2).toString(16));
      s = new SocketAddress({ address: groups.join(':'), family: 'ipv6' }).address;
      const scope = m[at + 4]!;
      if (scope !== 0) s += `%${interfaceName(scope) ?? scope}`;
      if (this.v6.size >= MAX_CACHED) this.v6.clear();
      this.v6.set(key, s);
    }
    return s;
  }

  /** Stops reading; resolves once the duplicate descriptor is closed (the port can be bound again). */
  stop(): Promise<void> {
    const h = this.handle;
    this.handle = undefined;
    if (h === undefined || addon === undefined) return Promise.resolve();
    return new Promise((resolve) => addon.recvStop(h, resolve));
  }
}

function interfaceName(scopeId: number): string | undefined {
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (addrs?.some((a) => a.family === 'IPv6' && a.scopeid === scopeId)) return name;
  }
  return undefined;
}
