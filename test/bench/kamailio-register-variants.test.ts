// The Kamailio the register bench compares against, in both REGISTER variants, on the wire: a
// retransmitted REGISTER (same branch) gets a fresh challenge from the stateless registrar
// (www_challenge makes a new nonce each time), and the stored 401 again from the stateful one
// (--kamailio-register stateful: tm absorbs the retransmission and resends its answer, as our
// registrar does). Kamailio is a bench tool: without it this skips, except under CI=true (.ci/run
// installs it).
import t from 'tap';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { kamailioInstalled, KAMAILIO, startKamailio } from '../../bench/lib/kamailio.js';

t.setTimeout(60_000);

function register(localPort: number, registrarPort: number, callId: string): string {
  return [
    // the port too: Kamailio's uri==myself matches host and port
    `REGISTER sip:127.0.0.1:${registrarPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${localPort};branch=z9hG4bK-${callId};rport`,
    'Max-Forwards: 70',
    'From: <sip:u0000@127.0.0.1>;tag=1',
    'To: <sip:u0000@127.0.0.1>',
    `Call-ID: ${callId}`,
    'CSeq: 1 REGISTER',
    `Contact: <sip:u0000@127.0.0.1:${localPort}>`,
    'Expires: 60',
    'Content-Length: 0', '', '',
  ].join('\r\n');
}

/** The nonces of the 401s to one REGISTER sent twice. */
async function challengesToRetransmission(statefulRegister: boolean): Promise<string[]> {
  const k = await startKamailio({ uasPort: 5080, users: [{ username: 'u0000', password: 'pw-u0000' }], statefulRegister, maxMs: 30_000 });
  const sock = createSocket('udp4');
  try {
    sock.bind(0, '127.0.0.1');
    await once(sock, 'listening');
    const port = sock.address().port;
    const nonces: string[] = [];
    const got = new Promise<void>((resolve) => {
      sock.on('message', (m) => {
        const text = m.toString('latin1');
        const nonce = /^SIP\/2\.0 401 [\s\S]*?nonce="([^"]+)"/.exec(text)?.[1];
        if (nonce !== undefined) nonces.push(nonce);
        if (nonces.length === 2) resolve();
      });
    });
    const req = register(port, k.port, `kam-${statefulRegister ? 'sf' : 'sl'}-${process.pid}`);
    sock.send(req, k.port, '127.0.0.1');
    await new Promise((r) => setTimeout(r, 200));
    sock.send(req, k.port, '127.0.0.1'); // the same request again: a retransmission
    await Promise.race([got, new Promise((r) => setTimeout(r, 5000))]);
    return nonces;
  } finally {
    sock.close();
    await k.stop();
  }
}

t.test('bench Kamailio: a retransmitted REGISTER, stateless and stateful', { skip: kamailioInstalled() || process.env.CI === 'true' ? false : `${KAMAILIO} not installed` }, async (t) => {
  const sl = await challengesToRetransmission(false);
  t.equal(sl.length, 2, 'stateless: both copies answered');
  t.not(sl[0], sl[1], 'stateless: each copy challenged anew');
  const sf = await challengesToRetransmission(true);
  t.equal(sf.length, 2, 'stateful: the retransmission answered');
  t.equal(sf[0], sf[1], 'stateful: the stored 401 resent');
});
