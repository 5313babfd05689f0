// Users register through sipp with digest auth (RFC 3261 22, RFC 8760) and their bindings land in
// the location service; a wrong password never gets 200.
import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { freeUdpPort, requireSipp, runSipp, scenario, sippReport, summary } from '../helpers/sipp.js';

const USERS = [
  { username: '100', password: 'demo100pass' },
  { username: '101', password: 'demo101pass' },
  { username: '102', password: 'demo102pass' },
];

/** sipp -inf file: field0 the user, field1 the whole [authentication] keyword (see the scenario) */
function usersCsv(dir: string, passwordOf: (u: { username: string; password: string }) => string): string {
  const path = join(dir, 'users.csv');
  const lines = USERS.map((u) => `${u.username};[authentication username=${u.username} password=${passwordOf(u)}]`);
  writeFileSync(path, ['SEQUENTIAL', ...lines, ''].join('\n'));
  return path;
}

async function register(file: string, proxyPort: number, csv: string) {
  return runSipp([
    '-sf', scenario(file), '-inf', csv, `127.0.0.1:${proxyPort}`,
    '-i', '127.0.0.1', '-p', String(await freeUdpPort()),
    '-m', String(USERS.length), '-r', '20', '-timeout_error',
  ], { timeoutMs: 15_000, traceMessages: true });
}

/** algorithm= of each Authorization header sipp sent (a retransmission repeats one: counted once) */
function answeredAlgorithms(messages: string): string[] {
  const sent = new Set([...messages.matchAll(/^Authorization:[^\r\n]*/gim)].map((m) => m[0]));
  return [...sent].map((a) => /algorithm=([\w-]+)/i.exec(a)?.[1]?.toUpperCase() ?? 'none');
}

/** status of the responses sipp received to each (Call-ID, CSeq), retransmissions counted once */
function responses(messages: string, cseq: string): string[] {
  const seen = new Map<string, string>();
  for (const m of messages.split(/^-{10,}.*$/m)) {
    const status = /^SIP\/2\.0 (\d{3}) /m.exec(m)?.[1];
    const callId = /^Call-ID:\s*(\S+)/im.exec(m)?.[1];
    if (status !== undefined && callId !== undefined && new RegExp(`^CSeq:\\s*${cseq}\\r?$`, 'im').test(m)) seen.set(`${callId} ${status}`, status);
  }
  return [...seen.values()];
}

if (requireSipp(t)) {
  const dir = mkdtempSync(join(tmpdir(), 'register-digest-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));

  t.test('the default challenge (SHA-256 first, then MD5) against sipp', async (t) => {
    const proxy = await startTestProxy();
    t.teardown(() => proxy.close());
    const r = await register('register-auth.xml', proxy.udpPort, usersCsv(dir, (u) => u.password));
    const s = summary(r);
    const algorithms = answeredAlgorithms(r.messages);
    // RFC 8760 2.5: a UAC uses the topmost challenge it supports. sipp 3.6 takes the topmost one
    // whatever it is and only computes MD5, so it gives up on our SHA-256-first challenge without
    // sending anything: an interop limit of the client, not a reason to demote SHA-256 by default.
    if (algorithms.length === 0) {
      t.match(r.stdout + r.stderr + r.errors, /must use MD5/, 'sipp could not answer a SHA-256 challenge');
      t.equal(s.successful, 0);
      t.comment(`sipp answers only MD5 and only the first WWW-Authenticate: with [SHA-256, MD5] it registered ${s.successful}/${USERS.length}`);
    } else {
      t.same(algorithms, USERS.map(() => 'SHA-256'), 'a client that does SHA-256 answers the topmost challenge');
      t.equal(s.successful, USERS.length, 'sipp ran every call to its end', { sipp: sippReport(r) });
    }
  });

  t.test('with MD5 offered first, users 100-102 register and are found in the location service', async (t) => {
    const proxy = await startTestProxy({ auth: { realm: 'sipshard', register: true, invite: true, algorithms: ['MD5', 'SHA-256'], nonceTtlSeconds: 300 } });
    t.teardown(() => proxy.close());
    const r = await register('register-auth.xml', proxy.udpPort, usersCsv(dir, (u) => u.password));
    const s = summary(r);
    t.comment(`register: ${JSON.stringify(s)}`);
    t.equal(r.code, 0, 'sipp exit 0', { sipp: sippReport(r) });
    t.equal(s.successful, USERS.length, 'every REGISTER got 200 after the challenge');
    t.equal(s.failed, 0);
    t.same(answeredAlgorithms(r.messages), USERS.map(() => 'MD5'), 'sipp answered MD5 and the registrar accepted it');
    t.same(responses(r.messages, '1 REGISTER'), USERS.map(() => '401'), 'one challenge per user');
    // the shard sends the binding to the main thread with the 200: give that message a moment
    for (let i = 0; i < 20 && proxy.location.store.lookup('sip:102@127.0.0.1', Date.now()).length === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    for (const { username } of USERS) {
      const bindings = proxy.location.store.lookup(`sip:${username}@127.0.0.1`, Date.now());
      t.equal(bindings.length, 1, `one binding for ${username}`);
      t.match(bindings[0]?.contact, new RegExp(`^sip:${username}@127\\.0\\.0\\.1:\\d+;transport=UDP$`));
      t.ok((bindings[0]?.expiresAt ?? 0) > Date.now() + 3000_000, 'Expires: 3600 honoured');
    }
  });

  t.test('a wrong password never gets 200: the registrar challenges again', async (t) => {
    const proxy = await startTestProxy({ auth: { realm: 'sipshard', register: true, invite: true, algorithms: ['MD5', 'SHA-256'], nonceTtlSeconds: 300 } });
    t.teardown(() => proxy.close());
    const r = await register('register-wrong-password.xml', proxy.udpPort, usersCsv(dir, (u) => `${u.password}-wrong`));
    const s = summary(r);
    t.equal(s.successful, USERS.length, 'sipp ran every call to its end', { sipp: sippReport(r) });
    t.equal(s.failed, 0);
    t.notMatch(r.messages, /^SIP\/2\.0 200 /m, 'no 200 at all');
    t.same(responses(r.messages, '2 REGISTER'), USERS.map(() => '401'), 'the answer to the wrong credentials is a fresh 401 challenge');
    for (const { username } of USERS) t.equal(proxy.location.store.lookup(`sip:${username}@127.0.0.1`, Date.now()).length, 0, `no binding for ${username}`);
  });
}
