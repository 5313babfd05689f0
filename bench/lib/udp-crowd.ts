// Other UDP sockets on the host, as a media relay beside the proxy holds (two per call): a child
// process binds `count` of them on 127.0.0.2 and keeps them until stopped. What the proxy must not
// pay for: a sample of its receive queues once read /proc/net/udp, which lists every one of them
// (bench/PERFORMANCE.md, round 19).
import { readFileSync } from 'node:fs';
import { procLocalAddress } from '../../lib/transport/udp-rx-queue.js';
import { startBounded, sleep, type Bounded } from './child.js';

/** an address of its own, so counting them is not confused by other loopback sockets */
export const CROWD_ADDRESS = '127.77.0.1';
/** how /proc/net/udp prints it in local_address */
const CROWD_PROC = ` ${procLocalAddress(CROWD_ADDRESS, 0).split(':')[0]!}:`;

const HOLDER = `
const { createSocket } = require('node:dgram');
const n = Number(process.argv[1]);
let bound = 0;
const next = () => {
  if (bound === n) return;
  const s = createSocket('udp4');
  s.on('error', (e) => { console.error(e.message); process.exit(1); });
  s.bind(0, process.argv[2], () => { bound++; next(); });
};
next();
setInterval(() => {}, 60000);
`;

/** How many UDP sockets /proc/net/udp lists on CROWD_ADDRESS now; -1 without it. */
export function crowdSockets(): number {
  try {
    return readFileSync('/proc/net/udp', 'latin1').split('\n').filter((l) => l.includes(CROWD_PROC)).length;
  } catch {
    return -1;
  }
}

/** Starts the holder and waits until the host lists at least `count` more UDP sockets (at most 60 s). */
export async function crowdHostUdp(count: number, maxMs: number): Promise<Bounded> {
  const before = crowdSockets();
  const holder = startBounded('udp-crowd', process.execPath, ['-e', HOLDER, String(count), CROWD_ADDRESS], maxMs);
  const deadline = Date.now() + 60_000;
  while (crowdSockets() < before + count) {
    const code = await Promise.race([holder.exited, sleep(200).then(() => undefined)]);
    const why = code !== undefined ? `the holder exited (${code})` : Date.now() > deadline ? 'not within 60 s' : undefined;
    if (why !== undefined) {
      await holder.stop(500);
      throw new Error(`udp-crowd: ${count} sockets not bound, ${why} (open-file limit? ulimit -n)`);
    }
  }
  return holder;
}
