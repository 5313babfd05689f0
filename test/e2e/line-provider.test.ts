// A line against sipp playing the provider: the registrar challenges with 401 and verifies the
// digest (sipp's verifyauth, MD5), grants 2 s so the line refreshes; a call routed to the line is
// challenged 407, re-sent with credentials, and the caller (another sipp) sees one normal call.
import t from 'tap';
import type { LineState } from '../../lib/peers/peer-state.js';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, scenario, sippReport, startSipp, summary } from '../helpers/sipp.js';
import { until } from '../helpers/wait.js';

t.setTimeout(90_000);

/** Each message sipp logged (sent or received), split on its separator lines. */
function messages(log: string): string[] {
  // each entry: a dashed line with the time, "UDP message received [n] bytes :", the message
  return log.split(/^-{10,}.*$/m).map((m) => m.replace(/^\s*\w+ message (?:received|sent)[^\n]*\n/, '').trim()).filter((m) => m !== '');
}

const requests = (log: string, method: string): string[] => messages(log).filter((m) => m.startsWith(`${method} `));
const header = (msg: string, name: string): string | undefined => new RegExp(`^${name}:\\s*(.*)$`, 'im').exec(msg)?.[1]?.trim();

if (requireSipp(t)) {
  t.test('locale zh: the line registers with digest, refreshes, and its Request-URI ends in ;user=phone once', async (t) => {
    const port = await freeUdpPort();
    const registrar = await startSipp(['-sf', scenario('provider-registrar.xml'), '-key', 'user', 'acct1', '-key', 'pass', 'linepass', '-m', '1', ...await loopbackArgs(port)], { timeoutMs: 20_000, traceMessages: true });
    t.teardown(() => registrar.stop());
    const proxy = await startTestProxy({ locale: 'zh', lines: [{ name: 'prov', registrar: `sip:127.0.0.1:${port}`, username: 'acct1', password: 'linepass', expires: 60 }] });
    t.teardown(() => proxy.close());
    const r = await registrar.done;
    t.equal(r.code, 0, 'the registrar saw the whole exchange and every digest verified', { sipp: sippReport(r) });
    const regs = requests(r.messages, 'REGISTER');
    const distinct = [...new Map(regs.map((m) => [header(m, 'CSeq'), m])).values()];
    t.same(distinct.map((m) => header(m, 'CSeq')), ['1 REGISTER', '2 REGISTER', '3 REGISTER', '4 REGISTER'], 'challenge, answer, refresh, answer');
    t.same(distinct.map((m) => header(m, 'Authorization') !== undefined), [false, true, false, true]);
    t.equal(new Set(distinct.map((m) => header(m, 'Call-ID'))).size, 1, 'one Call-ID for the line');
    for (const m of distinct) t.equal(m.split('\n')[0]!.trim(), `REGISTER sip:127.0.0.1:${port};user=phone SIP/2.0`, 'user=phone exactly once');
    // the state of the first (2 s) grant may still be the latest the main thread has: wait for the
    // owning shard's report of the second one
    t.ok(await until(() => ((proxy.peerStates().find((s) => s.name === 'prov') as LineState | undefined)?.expiresAt ?? 0) > Date.now() + 50_000, 5000));
    const state = proxy.peerStates().find((s) => s.name === 'prov') as LineState;
    t.match(state, { kind: 'line', state: 'registered', lastStatus: 200 }, 'the main thread knows the line is registered');
    t.ok(state.expiresAt! > Date.now() + 50_000, 'the second grant (60 s) is the current one');
  });

  t.test('a call on the line: the provider 407s, the proxy answers it, the caller sees one call', async (t) => {
    const providerPort = await freeUdpPort();
    const provider = await startSipp(['-sf', scenario('provider-uas-407.xml'), ...await loopbackArgs(providerPort)], { timeoutMs: 30_000, traceMessages: true });
    t.teardown(() => provider.stop());
    const proxy = await startTestProxy({
      locale: 'zh',
      lines: [{ name: 'prov', registrar: `sip:127.0.0.1:${providerPort}`, domain: 'provider.example', username: 'acct1', password: 'linepass', register: false }],
      routes: [{ prefix: '0', line: 'prov', strip: 1, prepend: '+86' }],
    });
    t.teardown(() => proxy.close());
    const uac = await runSipp(['-sn', 'uac', '-s', '013901088888', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()), '-m', '1', '-d', '200', '-timeout', '20s', '-timeout_error'], { timeoutMs: 20_000, traceMessages: true });
    t.equal(uac.code, 0, 'the caller completed the call without an unexpected message', { sipp: sippReport(uac) });
    t.equal(summary(uac).successful, 1);
    t.notMatch(uac.messages, /^SIP\/2\.0 40[17] /m, 'the caller never saw a challenge');
    const p = await provider.stop(1000);
    const invites = [...new Map(requests(p.messages, 'INVITE').map((m) => [header(m, 'CSeq'), m])).values()];
    t.same(invites.map((m) => header(m, 'CSeq')), ['1 INVITE', '2 INVITE'], 'challenged, then re-sent with CSeq + 1');
    t.match(header(invites[1]!, 'Proxy-Authorization'), /^Digest username="acct1", realm="provider\.example"/, 'with the line\'s credentials (their digest is verified in test/peers/line-calls.test.ts)');
    t.equal(summary(p).failed, 0, 'the provider found no fault (its check of Proxy-Authorization passed)', { sipp: sippReport(p) });
    for (const m of invites) t.equal(m.split('\n')[0]!.trim(), 'INVITE sip:+8613901088888@provider.example;user=phone SIP/2.0', 'line domain, user=phone once');
    t.match(header(invites[0]!, 'From'), /^(sipp )?<sip:acct1@provider\.example>;tag=/, "the line's identity");
    t.same([...new Set(requests(p.messages, 'ACK').map((m) => header(m, 'CSeq')))], ['1 ACK', '2 ACK'], 'hop-by-hop ACK of the 407, then the 2xx ACK matching the re-sent INVITE');
    t.same([...new Set(requests(p.messages, 'BYE').map((m) => header(m, 'CSeq')))], ['3 BYE'], "the caller's CSeq 2 BYE arrives as 3");
    t.match(uac.messages, /^CSeq:\s*2 BYE/m);
  });
}
