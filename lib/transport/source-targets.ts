// One SendTarget object per message source on the main thread, so the receive path builds no target
// per datagram and the shard channel can send each distinct source of a batch once (sip-frames.ts).
import type { SendTarget, TransportName } from './types.js';

/** Past this many sources the table starts over (holders keep their objects; it is only a cache). */
const MAX_SOURCES = 65_536;

export class SourceTargets {
  /** UDP: address, then port */
  private readonly udp = new Map<string, Map<number, SendTarget>>();
  /** TCP/TLS: the connection id is unique for the process's life */
  private readonly conns = new Map<number, SendTarget>();
  private size = 0;

  of(transport: TransportName, address: string, port: number, connId: number): SendTarget {
    if (transport === 'udp') {
      let byPort = this.udp.get(address);
      let t = byPort?.get(port);
      if (t !== undefined) return t;
      if (this.roomForOne()) byPort = undefined;
      if (byPort === undefined) {
        byPort = new Map();
        this.udp.set(address, byPort);
      }
      t = { transport, address, port, connId };
      byPort.set(port, t);
      return t;
    }
    let t = this.conns.get(connId);
    if (t !== undefined && t.transport === transport) return t;
    this.roomForOne();
    t = { transport, address, port, connId };
    this.conns.set(connId, t);
    return t;
  }

  /** Counts the entry about to be added; true when the table had to start over first. */
  private roomForOne(): boolean {
    const full = this.size >= MAX_SOURCES;
    if (full) {
      this.udp.clear();
      this.conns.clear();
      this.size = 0;
    }
    this.size++;
    return full;
  }
}
