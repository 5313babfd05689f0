// SIGTERM to a proxy process with a call being set up: new INVITEs get 503 + Retry-After, the open
// INVITE still gets its 200 through, state is flushed and the process exits 0. With a callee that
// never answers, the drain deadline ends the wait.
import t from 'tap';
import { mkdtempSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startChildProxy, UdpPeer, writeChildConfig, type ChildProxy } from '../helpers/child-proxy.js';

t.setTimeout(60_000);

function invite(callId: string, callerPort: number, proxyPort: number): string {
  return [
    `INVITE sip:9000@127.0.0.1:${proxyPort} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${callerPort};branch=z9hG4bK-${callId};rport`,
    'Max-Forwards: 70', 'From: <sip:caller@127.0.0.9>;tag=c1', 'To: <sip:9000@127.0.0.1>', `Call-ID: ${callId}`, 'CSeq: 1 INVITE',
    `Contact: <sip:caller@127.0.0.1:${callerPort}>`, 'Content-Length: 0', '', '',
  ].join('\r\n');
}

/** The callee's answer to an INVITE it received. */
function answer(inv: string, status: string): string {
  const h = (n: string): string[] => [...inv.matchAll(new RegExp(`^${n}: (.*)$`, 'gim'))].map((m) => m[1]!.trim());
  return [`SIP/2.0 ${status}`, ...h('Via').map((v) => `Via: ${v}`), ...h('Record-Route').map((v) => `Record-Route: ${v}`), `From: ${h('From')[0]}`,
    `To: ${h('To')[0]};tag=callee`, `Call-ID: ${h('Call-ID')[0]}`, `CSeq: ${h('CSeq')[0]}`, 'Contact: <sip:callee@127.0.0.1>', 'Content-Length: 0', '', ''].join('\r\n');
}

async function untilLog(p: ChildProxy, msg: string, ms = 5000): Promise<Record<string, unknown>> {
  const deadline = Date.now() + ms;
  for (;;) {
    const rec = p.logs.find((l) => l.msg === msg);
    if (rec !== undefined) return rec;
    if (Date.now() > deadline) throw new Error(`no '${msg}' log line`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function setup(t: { teardown(fn: () => unknown): void }, drainSeconds: number): Promise<{ proxy: ChildProxy; caller: UdpPeer; callee: UdpPeer; storePath: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'sipshard-drain-'));
  const caller = await UdpPeer.open();
  const callee = await UdpPeer.open();
  t.teardown(() => { caller.close(); callee.close(); });
  const storePath = join(dir, 'location.msgpack');
  const configPath = writeChildConfig({
    auth: { register: false, invite: false }, registrar: { storePath }, shard: { drainSeconds, retryAfterSeconds: 7 },
    routes: [{ prefix: '9', destination: `sip:127.0.0.1:${callee.port}`, strip: 1, prepend: '' }],
  }, dir);
  const proxy = await startChildProxy(configPath);
  t.teardown(() => { proxy.child.kill('SIGKILL'); });
  return { proxy, caller, callee, storePath };
}

t.test('SIGTERM: 503 to new calls, the open call completes, exit 0', async (t) => {
  const { proxy, caller, callee, storePath } = await setup(t, 10);
  const pp = proxy.udpPort;
  caller.send([
    `REGISTER sip:127.0.0.1:${pp} SIP/2.0`, `Via: SIP/2.0/UDP 127.0.0.1:${caller.port};branch=z9hG4bK-reg;rport`, 'Max-Forwards: 70',
    'From: <sip:100@127.0.0.1>;tag=r', 'To: <sip:100@127.0.0.1>', 'Call-ID: reg@drain', 'CSeq: 1 REGISTER',
    `Contact: <sip:100@127.0.0.1:${caller.port}>`, 'Content-Length: 0', '', ''].join('\r\n'), pp);
  await caller.until((r) => r.some((m) => m.startsWith('SIP/2.0 200') && m.includes('REGISTER')));

  caller.send(invite('open-call', caller.port, pp), pp);
  await callee.until((r) => r.some((m) => m.startsWith('INVITE ')));
  const inv = callee.received.find((m) => m.startsWith('INVITE '))!;
  callee.send(answer(inv, '180 Ringing'), pp);
  await caller.until((r) => r.some((m) => m.startsWith('SIP/2.0 180')));

  const termAt = Date.now();
  proxy.child.kill('SIGTERM');
  await untilLog(proxy, 'draining: new calls get 503, open transactions may finish');
  caller.send(invite('new-call', caller.port, pp), pp);
  await caller.until((r) => r.some((m) => m.includes('Call-ID: new-call') && /^SIP\/2\.0 [1-6]/.test(m) && !m.startsWith('SIP/2.0 100')));
  const refused = caller.received.find((m) => m.includes('Call-ID: new-call') && !m.startsWith('SIP/2.0 100'))!;
  t.match(refused, /^SIP\/2\.0 503 /, 'a new INVITE while draining gets 503');
  t.match(refused, /\r\nRetry-After: 7\r\n/, 'with Retry-After');
  t.notOk(callee.received.some((m) => m.includes('Call-ID: new-call')), 'and never reaches the callee');

  t.equal(proxy.child.exitCode, null, 'still running while the call is open');
  callee.send(answer(inv, '200 OK'), pp);
  await caller.until((r) => r.some((m) => m.startsWith('SIP/2.0 200') && m.includes('Call-ID: open-call')));
  t.pass('the open INVITE got its 200 during the drain');
  const exit = await proxy.exited;
  t.equal(exit.code, 0, `exit 0 after ${Date.now() - termAt} ms`);
  t.equal((await untilLog(proxy, 'drained')).pendingLeft, 0, 'logged: nothing cut off');
  t.equal(statSync(`${storePath}.wal`).size, 0, 'state flushed into the snapshot');
  t.ok(statSync(storePath).size > 0);
});

t.test('SIGTERM with a callee that never answers: the deadline ends the drain, exit 0', async (t) => {
  const { proxy, caller, callee } = await setup(t, 1);
  caller.send(invite('stuck-call', caller.port, proxy.udpPort), proxy.udpPort);
  await callee.until((r) => r.some((m) => m.startsWith('INVITE ')));
  const termAt = Date.now();
  proxy.child.kill('SIGTERM');
  const exit = await proxy.exited;
  const ms = Date.now() - termAt;
  t.equal(exit.code, 0, 'exit 0');
  t.ok(ms >= 900 && ms < 5000, `stopped after the 1 s deadline (${ms} ms)`);
  t.equal((await untilLog(proxy, 'drain deadline reached')).pendingLeft, 1, 'logged with the transaction cut off');
});
