// bench:calls --host-udp-sockets: the holder binds that many more UDP sockets on the host (as
// /proc/net/udp lists them, on an address of their own) until stopped, and frees them all then.
import t from 'tap';
import { existsSync } from 'node:fs';
import { crowdHostUdp, crowdSockets, CROWD_ADDRESS } from '../../bench/lib/udp-crowd.js';
import { killAll } from '../../bench/lib/child.js';

const noProc = process.platform !== 'linux' || !existsSync('/proc/net/udp') ? 'no /proc/net/udp (not Linux)' : false;

t.test(`binds the sockets on ${CROWD_ADDRESS} and frees them when stopped`, { skip: noProc }, async (t) => {
  t.teardown(killAll);
  const before = crowdSockets();
  const holder = await crowdHostUdp(300, 30_000);
  t.ok(crowdSockets() >= before + 300, `${crowdSockets() - before} more sockets on ${CROWD_ADDRESS}`);
  await holder.stop();
  t.equal(crowdSockets(), before, 'all freed');
});
