// The servers bench:floor measures must answer as a registrar does on the wire, datagram for
// datagram, or the floor they give is not a registration's: each (C, Node with our UDP path, Node
// with node:dgram) is started by the bench's own launcher and must send every request back to its
// sender with the first line replaced by 'SIP/2.0 200 OK' and nothing else changed, one answer per
// datagram, also for a burst (our path answers a burst in one sendmmsg).
import t from 'tap';
import { rmSync } from 'node:fs';
import { buildCEcho, ECHO_KINDS, startEcho } from '../../bench/lib/echo-target.js';
import { UdpPeer } from '../helpers/child-proxy.js';

t.setTimeout(60_000);

const c = buildCEcho();
t.teardown(() => { if (c !== undefined) rmSync(c.dir, { recursive: true, force: true }); });

function register(port: number, local: number, n: number): string {
  return [
    `REGISTER sip:127.0.0.1:${port} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${local};branch=z9hG4bK-floor-${n};rport`,
    'Max-Forwards: 70',
    `From: <sip:u${n}@127.0.0.1>;tag=f${n}`,
    `To: <sip:u${n}@127.0.0.1>`,
    `Call-ID: floor-${n}@test`,
    `CSeq: ${n} REGISTER`,
    `Contact: <sip:u${n}@127.0.0.1:${local}>`,
    'Content-Length: 0', '', '',
  ].join('\r\n');
}

const expected = (req: string): string => `SIP/2.0 200 OK${req.slice(req.indexOf('\r'))}`;

t.ok(c !== undefined, 'bench/floor/echo.c compiles with the system cc');

for (const kind of ECHO_KINDS) {
  t.test(`echo ${kind}`, async (t) => {
    if (kind === 'c' && c === undefined) { t.fail('no C echo to run'); return; }
    const target = await startEcho(kind, 30_000, c?.binary);
    const peer = await UdpPeer.open();
    try {
      const one = register(target.port, peer.port, 1);
      peer.received.length = 0; // the launcher's readiness probe went from its own socket, not this one
      peer.send(one, target.port);
      await peer.until((r) => r.length >= 1);
      t.equal(peer.received[0], expected(one), 'the request comes back under a 200 status line, the rest unchanged');

      const burst = Array.from({ length: 20 }, (_, i) => register(target.port, peer.port, 100 + i));
      for (const m of burst) peer.send(m, target.port);
      await peer.until((r) => r.length >= 21);
      await new Promise((r) => setTimeout(r, 200)); // anything extra would show by now
      t.equal(peer.received.length, 21, 'one answer per datagram');
      t.same([...peer.received.slice(1)].sort(), burst.map(expected).sort(), 'each of a burst of 20 answered, unchanged but for the first line');
    } finally {
      peer.close();
      await target.stop();
    }
  });
}
