// A shard's packed run of SIP messages (lib/shard/sip-frames.ts) sent with sendmmsg(2) through the
// optional native addon (native/udp_batch.c, built at `npm ci`): one system call per 64 datagrams
// instead of a dgram send each (JS, C++, libuv and sendmsg per datagram: ~4.8 us on the main
// thread against ~2.4 us for the same datagram in a batch, measured with bench/main-thread.js and
// a C loop on this machine). Frames to stream targets, and every UDP frame after a full socket
// buffer, are left to the caller, which sends them through Node as before.
import { isIP } from 'node:net';
import type { PackedSip } from '../shard/sip-frames.js';
import type { SendTarget } from './types.js';
import { udpAddon, type UdpBatchAddon } from './udp-addon.js';

export interface PackedSendResult {
  /** per target index of the run: its frames were the batch's (UDP to an IP of a family we listen on) */
  mine: boolean[];
  /** byte offset of the first of those frames not sent: the socket's buffer was full (the run's
   *  length when all went) */
  stoppedAt: number;
  sent: number;
  failed: number;
  /** errno of the last failed datagram (0: none) */
  lastErrno: number;
}

const addon = typeof udpAddon?.sendPacked === 'function' ? udpAddon as Pick<UdpBatchAddon, 'sendPacked'> : undefined;

/** True when the addon loaded (Linux, built at install). */
export const udpBatchSendAvailable = addon !== undefined;

/** Sockets the run's UDP frames go out on: the first UDP listener of each family (-1: none). */
export interface UdpSockets { fd4: number; fd6: number }

const result = new Int32Array(4);

/**
 * Send the run's frames to UDP targets at an IP address of a family we have a socket for with
 * sendmmsg; undefined when the addon is missing. Frames of other targets are not touched (the
 * caller's send reports what it reports for them today: a stream write, 'not an IP address', no
 * listener of that family).
 */
export function sendPackedUdp(p: PackedSip, sockets: UdpSockets, maxBytes: number): PackedSendResult | undefined {
  if (addon === undefined) return undefined;
  const n = p.tg.length;
  const addresses: string[] = new Array<string>(n);
  const ports: number[] = new Array<number>(n);
  const mine: boolean[] = new Array<boolean>(n);
  for (let i = 0; i < n; i++) {
    const t: SendTarget = p.tg[i]!;
    // a scoped IPv6 address (fe80::1%eth0) is left to dgram, which resolves the zone
    const family = t.transport === 'udp' && !t.address.includes('%') ? isIP(t.address) : 0;
    mine[i] = (family === 4 && sockets.fd4 >= 0) || (family === 6 && sockets.fd6 >= 0);
    addresses[i] = t.address;
    ports[i] = mine[i] ? t.port : -1;
  }
  addon.sendPacked(sockets.fd4, sockets.fd6, p.b, addresses, ports, maxBytes, result);
  return { mine, stoppedAt: result[0]!, sent: result[1]!, failed: result[2]!, lastErrno: result[3]! };
}
