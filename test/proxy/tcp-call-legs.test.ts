// Calls over TCP: the proxy opens a connection towards a transport=tcp route, responses come back
// on it, and the caller gets its responses on the connection its request came in on. The two legs
// use different transports here too (UDP in, TCP out), so the proxy record-routes twice.
import t from 'tap';
import { createConnection, createServer, type Socket } from 'node:net';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { startTestProxy } from '../helpers/proxy-harness.js';

/** Collect complete SIP messages (Content-Length 0 or with body) from a TCP stream. */
function reader(sock: Socket): () => Promise<string> {
  let buf = '';
  const waiting: Array<(m: string) => void> = [];
  const ready: string[] = [];
  sock.setEncoding('latin1');
  sock.on('data', (chunk: string) => {
    buf += chunk;
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end === -1) break;
      const cl = Number(/\r\nContent-Length:\s*(\d+)/i.exec(buf.slice(0, end))?.[1] ?? 0);
      if (buf.length < end + 4 + cl) break;
      const msg = buf.slice(0, end + 4 + cl);
      buf = buf.slice(end + 4 + cl);
      const w = waiting.shift();
      if (w) w(msg); else ready.push(msg);
    }
  });
  return () => {
    const m = ready.shift();
    if (m !== undefined) return Promise.resolve(m);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('timed out waiting for a TCP message')), 3000);
      waiting.push((msg) => { clearTimeout(timer); resolve(msg); });
    });
  };
}

function reply(req: string, status: string, toTag: string): string {
  const keep = req.split('\r\n').filter((l) => /^(Via|From|To|Call-ID|CSeq|Record-Route):/i.test(l)).map((l) => (l.startsWith('To:') ? `${l};tag=${toTag}` : l));
  return [`SIP/2.0 ${status}`, ...keep, 'Contact: <sip:uas@127.0.0.1>', 'Content-Length: 0', '', ''].join('\r\n');
}

t.test('TCP caller to TCP callee: responses on the same connections', async (t) => {
  const uasConns: Socket[] = [];
  const uas = createServer((c) => uasConns.push(c));
  await new Promise<void>((r) => uas.listen(0, '127.0.0.1', r));
  const uasPort = (uas.address() as { port: number }).port;
  const proxy = await startTestProxy({ routes: [{ prefix: '5', destination: `sip:127.0.0.1:${uasPort};transport=tcp` }] });
  t.teardown(async () => { for (const c of uasConns) c.destroy(); uas.close(); await proxy.close(); });

  const caller = createConnection(proxy.tcpPort, '127.0.0.1');
  await once(caller, 'connect');
  t.teardown(() => caller.destroy());
  const fromCaller = reader(caller);
  const lp = caller.localPort;
  caller.write([
    `INVITE sip:5000@127.0.0.1:${proxy.tcpPort};transport=tcp SIP/2.0`,
    `Via: SIP/2.0/TCP 127.0.0.1:${lp};branch=z9hG4bK-tcp1`, 'Max-Forwards: 70',
    'From: <sip:a@127.0.0.9>;tag=ta', 'To: <sip:5000@127.0.0.1>', 'Call-ID: tcp-call-1', 'CSeq: 1 INVITE',
    `Contact: <sip:a@127.0.0.1:${lp};transport=tcp>`, 'Content-Length: 0', '', '',
  ].join('\r\n'));
  t.match(await fromCaller(), /^SIP\/2\.0 100 Trying/);

  const [conn] = await Promise.all([new Promise<Socket>((resolve) => {
    const poll = setInterval(() => { if (uasConns[0]) { clearInterval(poll); resolve(uasConns[0]); } }, 5);
  })]);
  const fromProxy = reader(conn!);
  const inv = await fromProxy();
  t.match(inv, /^INVITE sip:5000@127\.0\.0\.1:\d+;transport=tcp SIP\/2\.0/);
  t.match(inv, /\r\nVia: SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;branch=z9hG4bK-/);
  t.match(inv, /\r\nRecord-Route: <sip:127\.0\.0\.1:\d+;transport=tcp;lr>/);
  conn!.write(reply(inv, '180 Ringing', 'tb'));
  conn!.write(reply(inv, '200 OK', 'tb'));
  t.match(await fromCaller(), /^SIP\/2\.0 180 Ringing/);
  const ok = await fromCaller();
  t.match(ok, /^SIP\/2\.0 200 OK/);
  t.match(ok, /\r\nVia: SIP\/2\.0\/TCP 127\.0\.0\.1:\d+;branch=z9hG4bK-tcp1/, 'only the caller Via is left');
});

t.test('UDP caller to a TCP route: two Record-Route entries, one per transport', async (t) => {
  const uasConns: Socket[] = [];
  const uas = createServer((c) => uasConns.push(c));
  await new Promise<void>((r) => uas.listen(0, '127.0.0.1', r));
  const uasPort = (uas.address() as { port: number }).port;
  const proxy = await startTestProxy({ routes: [{ prefix: '5', destination: `sip:127.0.0.1:${uasPort};transport=tcp` }] });
  const udp = createSocket('udp4');
  await new Promise<void>((r) => udp.bind(0, '127.0.0.1', r));
  t.teardown(async () => { udp.close(); for (const c of uasConns) c.destroy(); uas.close(); await proxy.close(); });
  const up = udp.address().port;
  udp.send([
    `INVITE sip:5001@127.0.0.1:${proxy.udpPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${up};branch=z9hG4bK-udp1`, 'Max-Forwards: 70',
    'From: <sip:a@127.0.0.9>;tag=ta', 'To: <sip:5001@127.0.0.1>', 'Call-ID: tcp-call-2', 'CSeq: 1 INVITE', `Contact: <sip:a@127.0.0.1:${up}>`, 'Content-Length: 0', '', '',
  ].join('\r\n'), proxy.udpPort, '127.0.0.1');
  const conn = await new Promise<Socket>((resolve) => {
    const poll = setInterval(() => { if (uasConns[0]) { clearInterval(poll); resolve(uasConns[0]); } }, 5);
  });
  const inv = await reader(conn)();
  const rr = inv.split('\r\n').filter((l) => l.startsWith('Record-Route:'));
  t.equal(rr.length, 2);
  t.match(rr[0], new RegExp(`<sip:127\\.0\\.0\\.1:${proxy.tcpPort};transport=tcp;lr>`), 'top entry faces the callee (TCP)');
  t.match(rr[1], new RegExp(`<sip:127\\.0\\.0\\.1:${proxy.udpPort};lr>`), 'next entry faces the caller (UDP)');
});
