// The optional native addon (native/udp_batch.c, built at `npm ci` on Linux): sendmmsg for a
// shard's packed run (udp-batch-send.ts), recvmmsg for a listening socket (udp-batch-receive.ts)
// and a socket's receive queue (udp-rx-queue.ts). Absent (another OS, no compiler), the first two
// fall back to Node's dgram, the last to /proc/net/udp.
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { packageRoot } from '../config/load-config.js';

export interface UdpBatchAddon {
  sendPacked(fd4: number, fd6: number, packed: ArrayBuffer, addresses: string[], ports: number[], maxBytes: number, result: Int32Array): void;
  /** polls a dup() of fd; calls onBatch(datagrams, count) with `meta` filled (udp-batch-receive.ts) */
  recvStart(fd: number, meta: Int32Array, onBatch: (data: ArrayBuffer, count: number) => void): object;
  /** stops polling; onClosed once the duplicate descriptor is closed */
  recvStop(handle: object, onClosed: () => void): void;
  /** true with out = [bytes in fd's receive queue, datagrams it dropped] (SO_MEMINFO); false when it cannot tell */
  socketQueue(fd: number, out: Float64Array): boolean;
}

function loadAddon(): Partial<UdpBatchAddon> | undefined {
  if (process.platform !== 'linux') return undefined;
  try {
    const require = createRequire(import.meta.url);
    return require(join(packageRoot(), 'build', 'Release', 'udp_batch.node')) as Partial<UdpBatchAddon>;
  } catch {
    return undefined; // not built: dgram does the work
  }
}

export const udpAddon = loadAddon();
