// Call forwarding end to end with sipp: callees register through the proxy (digest, MD5 offered
// first since sipp 3.6 answers only the first challenge and only MD5), then a caller dials userb
// and the proxy forwards: unconditional, busy, no answer (2 s), unavailable, a 302 from the
// phone, two hops, a loop. The caller's trace shows the 181s byte for byte, the callees' traces
// the Diversion headers; every forwarded call is answered and hung up with no failed message.
import t from 'tap';
import type tap from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { settledShardTotals } from '../helpers/shard-totals.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, scenario, sippReport, startSipp, summary, type SippHandle, type SippResult } from '../helpers/sipp.js';

t.setTimeout(120_000);

const USERS = ['userb', 'userc', 'userd'];
const AUTH = { realm: 'sipshard', register: true, invite: true, algorithms: ['MD5', 'SHA-256'], nonceTtlSeconds: 300 };

type Proxy = Awaited<ReturnType<typeof startTestProxy>>;

async function proxyWith(rules: Record<string, unknown>): Promise<Proxy> {
  const users = USERS.map((u) => ({ username: u, password: `${u}-pass`, ...(rules[u] === undefined ? {} : { forwarding: rules[u] }) }));
  return startTestProxy({ auth: AUTH, users, routes: [] });
}

/** REGISTER `user` from `port` through the proxy with digest auth (sipp register-auth.xml). */
async function register(proxy: Proxy, dir: string, user: string, port: number): Promise<void> {
  const csv = join(dir, `${user}.csv`);
  writeFileSync(csv, `SEQUENTIAL\n${user};[authentication username=${user} password=${user}-pass]\n`);
  const r = await runSipp(['-sf', scenario('register-auth.xml'), '-inf', csv, `127.0.0.1:${proxy.udpPort}`, '-i', '127.0.0.1', '-p', String(port), '-m', '1', '-timeout_error'], { timeoutMs: 10_000 });
  if (summary(r).successful !== 1) throw new Error(`REGISTER of ${user} failed: ${sippReport(r)}`);
  for (let i = 0; i < 40 && proxy.location.store.lookup(`sip:${user}@127.0.0.1`, Date.now()).length === 0; i++) await new Promise((res) => setTimeout(res, 50));
  // every shard must have the binding before the INVITE (the main thread broadcasts it)
  await new Promise((res) => setTimeout(res, 100));
}

interface Callee { user: string; port: number; file: string; service?: string }

async function startCallees(proxy: Proxy, dir: string, callees: readonly Callee[]): Promise<Map<string, SippHandle>> {
  const out = new Map<string, SippHandle>();
  for (const c of callees) await register(proxy, dir, c.user, c.port);
  for (const c of callees) {
    const args = ['-sf', scenario(c.file), ...await loopbackArgs(c.port), '-m', '1'];
    if (c.service !== undefined) args.push('-s', c.service);
    out.set(c.user, await startSipp(args, { timeoutMs: 20_000, traceMessages: true }));
  }
  return out;
}

async function dial(proxy: Proxy, file = 'uac-forwarded-call.xml', user = 'userb'): Promise<SippResult> {
  return runSipp(['-sf', scenario(file), '-s', user, `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()), '-m', '1', '-timeout', '20s', '-timeout_error'], { timeoutMs: 20_000, traceMessages: true });
}

/** The messages of a sipp -trace_msg log (a dashed line, "UDP message received|sent ...", the text). */
function messages(log: string): Array<{ received: boolean; text: string }> {
  const out: Array<{ received: boolean; text: string }> = [];
  for (const block of log.split(/^-{5,}.*$/m)) {
    const m = /^\s*\S+ message (received|sent)[^\n]*\n\s*\n?([\s\S]*)$/.exec(block);
    if (m !== null) out.push({ received: m[1] === 'received', text: m[2]!.replace(/^\s+/, '') });
  }
  return out;
}

function callInfoOf181s(log: string): string[] {
  return messages(log).filter((m) => m.received && /^SIP\/2\.0 181 /.test(m.text)).map((m) => /^Call-Info: .*$/m.exec(m.text)?.[0].replace(/\r$/, '') ?? '(none)');
}

function diversionsOfInvite(log: string): string[] {
  const inv = messages(log).find((m) => m.received && /^INVITE /.test(m.text));
  return inv === undefined ? [] : [...inv.text.matchAll(/^Diversion: (.*?)\r?$/gm)].map((m) => m[1]!);
}

async function forwardCounters(proxy: Proxy): Promise<Record<string, number>> {
  const sum: Record<string, number> = {};
  for (const r of await proxy.shardStats()) for (const [k, v] of Object.entries(r.counters)) if (k.startsWith('forward')) sum[k] = (sum[k] ?? 0) + v;
  return sum;
}

async function finish(t: Pick<typeof tap, 'equal'>, uac: SippResult, callees: Map<string, SippHandle>, proxy: Proxy): Promise<Map<string, SippResult>> {
  const done = new Map<string, SippResult>();
  for (const [u, h] of callees) done.set(u, await h.stop(3000));
  t.equal(uac.code, 0, 'caller: sipp exit 0', { sipp: sippReport(uac) });
  t.equal(summary(uac).successful, 1, 'caller: the call ran to its end');
  t.equal(summary(uac).failed, 0, 'caller: no failed call');
  for (const [u, r] of done) {
    t.equal(summary(r).failed, 0, `${u}: no failed call`, { sipp: sippReport(r) });
    t.equal(summary(r).successful, 1, `${u}: its one call ran to its end`, { sipp: sippReport(r) });
  }
  const totals = await settledShardTotals(proxy, (s) => s.early === 0 && s.confirmed === 0);
  t.equal(totals.confirmed, 0, 'no dialog left after the BYE / final');
  t.equal(totals.early, 0, 'no early dialog left');
  t.equal(totals.internalErrors, 0, 'no internal errors');
  return done;
}

if (requireSipp(t)) {
  const dir = mkdtempSync(join(tmpdir(), 'call-forwarding-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const port = async (): Promise<number> => freeUdpPort();

  // One hop B -> C each: the rule, B's phone (none: not registered or never rings), the Diversion
  // reason C sees and the counter that counts it.
  const ONE_HOP: Array<{ name: string; rules: Record<string, unknown>; b: Omit<Callee, 'user' | 'port'> | 'registered' | 'absent'; reason: string; counter: string; never?: RegExp }> = [
    { name: 'unconditional: B registered but never rings, C answers', rules: { userb: { unconditional: 'userc' } }, b: 'registered', reason: 'unconditional', counter: 'forwardsUnconditional' },
    { name: 'busy: B answers 486, C answers', rules: { userb: { busy: 'userc' } }, b: { file: 'uas-busy.xml' }, reason: 'user-busy', counter: 'forwardsUserBusy', never: /^SIP\/2\.0 486/m },
    { name: 'no answer after 2 s: B rings, is CANCELed, C answers', rules: { userb: { noAnswer: { target: 'userc', seconds: 2 } } }, b: { file: 'uas-ring-no-answer.xml' }, reason: 'no-answer', counter: 'forwardsNoAnswer', never: /^SIP\/2\.0 487/m },
    { name: 'unavailable: B has no binding, C answers', rules: { userb: { unavailable: 'userc' } }, b: 'absent', reason: 'unavailable', counter: 'forwardsUnavailable' },
    { name: "a 302 from B's phone is followed to C (deflection)", rules: {}, b: { file: 'uas-redirect.xml', service: 'userc' }, reason: 'deflection', counter: 'forwardsDeflection', never: /^SIP\/2\.0 302/m },
  ];

  for (const c of ONE_HOP) {
    t.test(c.name, async (t) => {
      const proxy = await proxyWith(c.rules);
      t.teardown(() => proxy.close());
      const phones: Callee[] = typeof c.b === 'object' ? [{ user: 'userb', port: await port(), ...c.b }] : [];
      const callees = await startCallees(proxy, dir, [...phones, { user: 'userc', port: await port(), file: 'uas-answer.xml' }]);
      if (c.b === 'registered') await register(proxy, dir, 'userb', await port());
      const started = Date.now();
      const uac = await dial(proxy);
      const done = await finish(t, uac, callees, proxy);
      if (c.never !== undefined) t.notMatch(uac.messages, c.never, "the caller never sees B's final");
      if (c.reason === 'no-answer') {
        t.ok(Date.now() - started >= 2000, 'the forward waited for the no-answer time');
        t.match(done.get('userb')!.messages, /^CANCEL /m, 'B got the CANCEL');
      }
      t.same(callInfoOf181s(uac.messages), ['Call-Info: purpose=forwarding, username="userb", contact="userc"'], 'the 181, byte for byte');
      t.same(diversionsOfInvite(done.get('userc')!.messages), [`<sip:userb@127.0.0.1>;reason=${c.reason};counter=1`], 'Diversion on what C receives');
      t.match(await forwardCounters(proxy), { [c.counter]: 1, forwarding181Sent: 1 });
    });
  }

  t.test('two hops B -> C -> D: two 181s in order, Diversion on what C and D receive', async (t) => {
    const proxy = await proxyWith({ userb: { unconditional: 'userc' }, userc: { busy: 'userd' } });
    t.teardown(() => proxy.close());
    const callees = await startCallees(proxy, dir, [{ user: 'userc', port: await port(), file: 'uas-busy.xml' }, { user: 'userd', port: await port(), file: 'uas-answer.xml' }]);
    const uac = await dial(proxy);
    const done = await finish(t, uac, callees, proxy);
    t.same(callInfoOf181s(uac.messages), [
      'Call-Info: purpose=forwarding, username="userb", contact="userc"',
      'Call-Info: purpose=forwarding, username="userc", contact="userd"',
    ]);
    t.same(diversionsOfInvite(done.get('userc')!.messages), ['<sip:userb@127.0.0.1>;reason=unconditional;counter=1'], 'what C receives');
    t.same(diversionsOfInvite(done.get('userd')!.messages), [
      '<sip:userc@127.0.0.1>;reason=user-busy;counter=1',
      '<sip:userb@127.0.0.1>;reason=unconditional;counter=1',
    ], 'what D receives, newest first');
    t.match(await forwardCounters(proxy), { forwardsUnconditional: 1, forwardsUserBusy: 1, forwarding181Sent: 2 });
  });

  t.test('a cycle B -> C -> B ends with 482 and a Reason header', async (t) => {
    const proxy = await proxyWith({ userb: { busy: 'userc' }, userc: { busy: 'userb' } });
    t.teardown(() => proxy.close());
    const callees = await startCallees(proxy, dir, [{ user: 'userb', port: await port(), file: 'uas-busy.xml' }, { user: 'userc', port: await port(), file: 'uas-busy.xml' }]);
    const uac = await dial(proxy, 'uac-forward-loop.xml');
    await finish(t, uac, callees, proxy);
    const final = messages(uac.messages).find((m) => m.received && /^SIP\/2\.0 482 /.test(m.text));
    t.ok(final, 'the caller got 482');
    t.match(final?.text ?? '', /^Reason: SIP;cause=482;text="Call forwarding loop: userb -> userc -> userb"\r?$/m);
    t.match(await forwardCounters(proxy), { forwardsUserBusy: 1, forwardingLoops: 1 });
  });
}
