// kill -9 of the proxy right after registrations, then a restart: every binding that got its 200 is
// there before the proxy answers anything (the write-ahead log, lib/persist/journal.ts).
import t from 'tap';
import { existsSync, mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildProxy, UdpPeer, writeChildConfig } from '../helpers/child-proxy.js';

const USERS = 200;

t.setTimeout(60_000);

function register(user: number, phonePort: number, proxyPort: number, contact: boolean): string {
  return [
    `REGISTER sip:127.0.0.1:${proxyPort} SIP/2.0`,
    `Via: SIP/2.0/UDP 127.0.0.1:${phonePort};branch=z9hG4bK-r${user}-${contact ? 'c' : 'q'};rport`,
    'Max-Forwards: 70',
    `From: <sip:u${user}@127.0.0.1>;tag=f${user}`,
    `To: <sip:u${user}@127.0.0.1>`,
    `Call-ID: reg-${user}-${contact ? 'c' : 'q'}@kill9`,
    `CSeq: ${contact ? 1 : 2} REGISTER`,
    ...(contact ? [`Contact: <sip:u${user}@127.0.0.1:${phonePort};line=${user}>`, 'Expires: 3600'] : []),
    'Content-Length: 0', '', '',
  ].join('\r\n');
}

/**
 * Each user's request until it is answered, resent every 500 ms as a phone's Timer E would: a burst
 * of USERS datagrams can overrun the socket's receive buffer while a just-started proxy warms up,
 * and what is lost on the way is not what this test is about.
 */
async function sendUntilAnswered(phone: UdpPeer, request: (user: number) => string, port: number, answered: (user: number, received: string[]) => boolean): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const open = Array.from({ length: USERS }, (_, i) => i).filter((i) => !answered(i, phone.received));
    if (open.length === 0) return;
    if (Date.now() > deadline) throw new Error(`${open.length} of ${USERS} users unanswered after 20 s`);
    for (const i of open) phone.send(request(i), port);
    await phone.until((r) => open.every((i) => answered(i, r)), 500).catch(() => undefined);
  }
}

t.test(`kill -9 after ${USERS} registrations loses none`, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'sipshard-kill9-'));
  const storePath = join(dir, 'location.msgpack');
  const users = Array.from({ length: USERS }, (_, i) => ({ username: `u${i}`, password: `pw${i}` }));
  const configPath = writeChildConfig({ users, auth: { register: false, invite: false }, registrar: { storePath, fsync: 'never' } }, dir);

  const first = await startChildProxy(configPath);
  t.teardown(() => { first.child.kill('SIGKILL'); });
  const phone = await UdpPeer.open();
  t.teardown(() => phone.close());
  await sendUntilAnswered(phone, (i) => register(i, phone.port, first.udpPort, true), first.udpPort,
    (i, r) => r.some((m) => m.startsWith('SIP/2.0 200') && m.includes(`Call-ID: reg-${i}-c@kill9`)));
  // no grace at all: the last 200 has just arrived
  first.child.kill('SIGKILL');
  const gone = await first.exited;
  t.equal(gone.signal, 'SIGKILL', 'the proxy was killed');
  t.ok(existsSync(`${storePath}.wal`) && statSync(`${storePath}.wal`).size > 0, 'the write-ahead log holds the bindings');

  const second = await startChildProxy(configPath);
  t.teardown(() => { second.child.kill('SIGKILL'); });
  const restored = second.logs.find((l) => l.msg === 'location bindings restored');
  t.equal(restored?.bindings, USERS, 'every binding restored before the proxy started');
  phone.received.length = 0;
  await sendUntilAnswered(phone, (i) => register(i, phone.port, second.udpPort, false), second.udpPort,
    (i, r) => r.some((m) => m.startsWith('SIP/2.0 ') && m.includes(`Call-ID: reg-${i}-q@kill9`)));
  let found = 0;
  for (let i = 0; i < USERS; i++) {
    const res = phone.received.find((m) => m.includes(`Call-ID: reg-${i}-q@kill9`));
    if (res?.startsWith('SIP/2.0 200') && res.includes(`;line=${i}>`)) found++;
  }
  t.equal(found, USERS, 'a registration query finds every binding after the restart');

  // a clean stop compacts: one snapshot, an empty log
  second.child.kill('SIGTERM');
  t.equal((await second.exited).code, 0, 'SIGTERM exits 0');
  t.equal(statSync(`${storePath}.wal`).size, 0, 'log emptied into the snapshot at shutdown');
  t.ok(statSync(storePath).size > 0, 'snapshot written');
});
