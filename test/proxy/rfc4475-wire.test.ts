// Every RFC 4475 torture message, byte-exact over UDP, through the real proxy (main thread plus
// shard workers from dist/): a client socket sends, a sink socket stands behind a default route.
// Requests: valid ones are forwarded (or answered by the registrar), rejected ones get exactly the
// manifest's status and are not forwarded. Responses: routed only through our own Via, dropped and
// counted when malformed or aimed at a broadcast address. The proxy must survive all of it.
import t, { type Test } from 'tap';
import { createSocket, type Socket } from 'node:dgram';
import type { SipMessage } from '../../lib/sip/message.js';
import { parseNameAddr } from '../../lib/sip/name-addr.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { parseUri } from '../../lib/sip/uri.js';
import { parseVia, viaBranch, viaParam } from '../../lib/sip/via.js';
import { serverKey } from '../../lib/txn/keys.js';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { bodyOffset, openCorpus, type Rfc4475Case } from '../helpers/rfc4475-corpus.js';

const WAIT_MS = 2000; // longest wait for an expected message
const QUIET_MS = 150; // how long "nothing arrives" is watched after the answer came

/** REGISTERs go to our registrar (example.com is ours). Auth is on, so a challenge is normal. */
const REGISTER_OUTCOME: Record<string, number> = {
  'dblreq.dat': 401, 'escnull.dat': 401, 'regbadct.dat': 401, 'cparam01.dat': 401,
  'cparam02.dat': 401, 'regescrt.dat': 401,
  // To: isbn:... is no SIP AOR, so no AOR of ours: 404 (RFC 3261 10.3 step 5). RFC 4475 3.3.4
  // expects a registrar to refuse it; what matters here is that it parsed and was processed.
  'unksm2.dat': 404,
};

/**
 * Valid requests whose next hop is not the sink with this config: processed normally, but their
 * target needs DNS for a name under example.com (which does not resolve), so no 400 and no sink.
 */
const ELSEWHERE: Record<string, string> = {
  'wsinv.dat': 'its Route header names sip:services.example.com;lr',
  'esc02.dat': 'its Request-URI sip:registrar.example.com has no user part to route by number',
};

/** "either" cases: what the proxy does now (see test/sip/rfc4475-parser.test.ts for why). */
const EITHER_REJECTED = new Set(['trws.dat']);

interface Rx { from: string; raw: Buffer; msg: SipMessage | undefined }

/** Datagrams of all our sockets, grouped by Call-ID ('' when there is none), with bounded waits. */
class Inbox {
  private readonly byCallId = new Map<string, Rx[]>();
  private readonly waiters = new Set<() => void>();

  listen(name: string, sock: Socket): void {
    sock.on('message', (raw: Buffer) => {
      let msg: SipMessage | undefined;
      try { msg = parseMessage(raw).message; } catch { msg = undefined; }
      const key = msg?.callId ?? '';
      const list = this.byCallId.get(key) ?? [];
      list.push({ from: name, raw, msg });
      this.byCallId.set(key, list);
      for (const w of [...this.waiters]) w();
    });
  }

  all(): Rx[] {
    return [...this.byCallId.values()].flat();
  }

  of(callId: string, from?: string): Rx[] {
    return (this.byCallId.get(callId) ?? []).filter((r) => from === undefined || r.from === from);
  }

  /** Resolves true as soon as `cond` holds, false after `ms`. */
  until(cond: () => boolean, ms = WAIT_MS): Promise<boolean> {
    if (cond()) return Promise.resolve(true);
    return new Promise((resolve) => {
      const check = (): void => { if (cond()) done(true); };
      const timer = setTimeout(() => done(false), ms);
      const done = (v: boolean): void => { clearTimeout(timer); this.waiters.delete(check); resolve(v); };
      this.waiters.add(check);
    });
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function bindUdp(port: number): Promise<Socket> {
  const sock = createSocket('udp4');
  await new Promise<void>((resolve, reject) => {
    sock.once('error', reject);
    sock.bind(port, '127.0.0.1', () => { sock.off('error', reject); resolve(); });
  });
  return sock;
}

const statusOf = (r: Rx): number => (r.msg !== undefined && !r.msg.isRequest ? r.msg.status : 0);
const finals = (rx: Rx[]): Rx[] => rx.filter((r) => statusOf(r) >= 200);

const corpus = openCorpus(t);
if (corpus !== undefined) {
  const inbox = new Inbox();
  const sink = await bindUdp(0);
  t.teardown(() => sink.close());
  const sinkPort = sink.address().port;
  // mpart01.dat carries `Route: <sip:127.0.0.1:5080>` (a strict router): stand there if we may
  const routeSink = await bindUdp(5080).catch(() => undefined);
  if (routeSink !== undefined) t.teardown(() => routeSink.close());
  const client = await bindUdp(0);
  t.teardown(() => client.close());
  inbox.listen('client', client);
  inbox.listen('sink', sink);
  if (routeSink !== undefined) inbox.listen('route', routeSink);

  const config = {
    domains: ['example.com', '127.0.0.1', 'localhost'],
    routes: [{ prefix: '', destination: `sip:127.0.0.1:${sinkPort}` }],
  };
  const proxy = await startTestProxy(config);
  t.teardown(() => proxy.close());
  let ourSentBy = `127.0.0.1:${proxy.udpPort}`;
  /** The proxy under test; a fresh one for corpus messages that reuse an earlier transaction id. */
  let current = proxy;

  const counters = async (): Promise<Record<string, number>> => {
    const sum: Record<string, number> = {};
    for (const r of await current.shardStats()) for (const [k, v] of Object.entries(r.counters)) sum[k] = (sum[k] ?? 0) + v;
    return sum;
  };
  /** Counter changes since `before`, waiting (bounded) until `cond` holds on them. */
  const deltaWhen = async (before: Record<string, number>, cond: (d: Record<string, number>) => boolean): Promise<Record<string, number>> => {
    const deadline = Date.now() + WAIT_MS;
    for (;;) {
      const now = await counters();
      const d: Record<string, number> = {};
      for (const k of Object.keys(now)) d[k] = now[k]! - (before[k] ?? 0);
      if (cond(d) || Date.now() > deadline) return d;
      await sleep(25);
    }
  };
  const since = (before: Record<string, number>): Promise<Record<string, number>> => deltaWhen(before, () => true);
  const send = (data: Buffer): void => { client.send(data, current.udpPort, '127.0.0.1'); };
  const forwardedTo = (callId: string): Rx[] => [...inbox.of(callId, 'sink'), ...inbox.of(callId, 'route')];

  const rejectedRequest = async (t: Test, c: Rfc4475Case, callId: string, before: Record<string, number>): Promise<void> => {
    await inbox.until(() => finals(inbox.of(callId, 'client')).length > 0);
    const res = finals(inbox.of(callId, 'client'))[0]?.msg;
    t.equal(res?.status, c.status, `client gets ${c.status}`);
    if (c.status === 420) t.equal(res?.get('unsupported'), 'noProxiesSupportThis, norDoAnyProxiesSupportThis', 'Unsupported lists the Proxy-Require tags');
    if (c.status === 401) {
      const challenges = res?.getAll('www-authenticate') ?? [];
      t.ok(challenges.length > 0 && challenges.every((v) => /^Digest /.test(v)), 'challenged with a scheme we know (Digest)');
    }
    await sleep(QUIET_MS);
    t.same([...new Set(inbox.of(callId, 'client').map(statusOf))], [c.status], 'and nothing else (no 100 either)');
    t.equal(forwardedTo(callId).length, 0, 'not forwarded');
    if (c.status === 400 || c.status === 505) t.equal((await since(before)).badRequests, 1, 'counted as a bad request');
  };

  const registered = async (t: Test, c: Rfc4475Case, callId: string): Promise<void> => {
    await inbox.until(() => finals(inbox.of(callId, 'client')).length > 0);
    const status = finals(inbox.of(callId, 'client'))[0]?.msg?.status;
    t.not(status, 400, 'not refused as malformed');
    t.equal(status, REGISTER_OUTCOME[c.file], `registrar answers ${REGISTER_OUTCOME[c.file]}`);
    await sleep(QUIET_MS);
    t.equal(forwardedTo(callId).length, 0, 'a REGISTER for our domain stays here');
  };

  const elsewhere = async (t: Test, c: Rfc4475Case, orig: SipMessage, callId: string, before: Record<string, number>): Promise<void> => {
    await inbox.until(() => finals(inbox.of(callId, 'client')).length > 0);
    const statuses = inbox.of(callId, 'client').map(statusOf);
    if (orig.method === 'INVITE') t.ok(statuses.includes(100), 'INVITE accepted: 100 Trying');
    t.notOk(statuses.some((s) => s === 400 || s === 505), `not refused as malformed (${ELSEWHERE[c.file]})`);
    t.equal(forwardedTo(callId).length, 0, 'the sink is not its next hop');
    t.equal((await since(before)).badRequests, 0, 'no bad request counted');
  };

  const forwarded = async (t: Test, c: Rfc4475Case, raw: Buffer, orig: SipMessage, callId: string, before: Record<string, number>): Promise<void> => {
    const isInvite = orig.method === 'INVITE';
    const strictRoute = c.file === 'mpart01.dat';
    if (strictRoute && routeSink === undefined) {
      t.comment('127.0.0.1:5080 is in use: the forwarded mpart01 cannot be observed');
      await inbox.until(() => false, QUIET_MS);
      t.equal(finals(inbox.of(callId, 'client')).filter((r) => statusOf(r) === 400).length, 0, 'not refused');
      return;
    }
    const where = strictRoute ? 'route' : 'sink';
    await inbox.until(() => inbox.of(callId, where).length > 0 && (!isInvite || inbox.of(callId, 'client').some((r) => statusOf(r) === 100)));
    const got = inbox.of(callId, where)[0]?.msg;
    if (!t.ok(got?.isRequest, `forwarded to the ${where}`) || got === undefined) return;
    if (isInvite) t.ok(inbox.of(callId, 'client').some((r) => statusOf(r) === 100), 'client gets 100 Trying');
    t.equal(got.method, orig.method);
    const vias = got.getAll('via');
    const ours = parseVia(vias[0]!);
    t.equal(`${ours.host}:${ours.port}`, ourSentBy, 'our Via on top');
    t.equal(ours.transport, 'UDP');
    t.match(viaBranch(ours), /^z9hG4bK./, 'branch with the magic cookie');
    const prev = parseVia(vias[1]!);
    t.equal(prev.host, parseVia(orig.getAll('via')[0]!).host, 'then the sender\'s Via');
    // RFC 3261 18.2.1: received only when the sent-by host is not where the datagram came from
    t.equal(viaParam(prev, 'received'), prev.host === '127.0.0.1' ? undefined : '127.0.0.1', 'received stamped when needed');
    t.equal(vias.length, orig.getAll('via').length + 1, 'no other Via added or lost');
    const mf = orig.get('max-forwards');
    t.equal(got.get('max-forwards'), String(mf === undefined ? 70 : Number(mf) - 1),
      mf === undefined ? 'Max-Forwards: 70 added (RFC 3261 16.6 step 3)' : 'Max-Forwards decremented by one');
    const rx = inbox.of(callId, where)[0]!.raw;
    t.ok(rx.subarray(bodyOffset(rx)).equals(orig.body), 'body byte-identical');
    if (strictRoute) {
      // next hop is a strict router: it takes the Request-URI slot, ours goes last in Route (16.6 step 6)
      t.equal(got.uri, 'sip:127.0.0.1:5080');
      t.equal(got.getAll('route').at(-1), `<${orig.uri}>`);
      t.ok(rx.subarray(bodyOffset(rx)).equals(raw.subarray(bodyOffset(raw))), 'body byte-identical to the file (NUL, bare CR)');
    } else {
      // the default route keeps the user part exactly as sent (escapes and all) and swaps host:port
      t.equal(got.uri, `sip:${parseUri(orig.uri).user}@127.0.0.1:${sinkPort}`, 'Request-URI user part kept byte-exact');
    }
    t.equal((await since(before)).badRequests, 0, 'no bad request counted');
  };

  const runRequest = async (t: Test, c: Rfc4475Case): Promise<void> => {
    const raw = corpus.read(c.file);
    const orig = parseMessage(raw).message;
    const callId = orig.callId;
    const before = await counters();
    send(raw);
    const rejected = c.verdict === 'reject' || (c.verdict === 'either' && EITHER_REJECTED.has(c.file));
    if (rejected) await rejectedRequest(t, c, callId, before);
    else if (orig.method === 'REGISTER') await registered(t, c, callId);
    else if (ELSEWHERE[c.file] !== undefined) await elsewhere(t, c, orig, callId, before);
    else await forwarded(t, c, raw, orig, callId, before);
  };
  const title = (c: Rfc4475Case): string => `${c.file} (${c.section}): ${c.verdict}${c.status === undefined ? '' : ` ${c.status}`}`;

  // Some corpus messages share branch, sent-by and method with an earlier one (unkscm/novelsc,
  // escnull/regescrt, cparam01/cparam02): RFC 3261 17.2.3 makes the later one a retransmission of
  // the earlier transaction. RFC 4475 messages are meant to be tried one by one, so those go to a
  // fresh proxy instead.
  const firstRound: Rfc4475Case[] = [];
  const secondRound: Rfc4475Case[] = [];
  const keys = new Set<string>();
  for (const c of corpus.cases.filter((x) => x.kind === 'request')) {
    const m = parseMessage(corpus.read(c.file)).message;
    let key: string;
    try { key = serverKey(m, parseVia(m.getAll('via')[0]!)); } catch { key = c.file; }
    (keys.has(key) ? secondRound : firstRound).push(c);
    keys.add(key);
  }

  t.test('every request of the corpus', async (t) => {
    for (const c of firstRound) await t.test(title(c), (t) => runRequest(t, c));
  });

  t.test('requests reusing an earlier transaction id, on a fresh proxy', async (t) => {
    t.ok(secondRound.length > 0 && secondRound.length < 5, `a few: ${secondRound.map((c) => c.file).join(', ')}`);
    const fresh = await startTestProxy(config);
    t.teardown(() => fresh.close());
    const saved = [current, ourSentBy] as const;
    [current, ourSentBy] = [fresh, `127.0.0.1:${fresh.udpPort}`];
    try {
      for (const c of secondRound) await t.test(title(c), (t) => runRequest(t, c));
      const d = await counters();
      t.equal(d.internalErrors, 0, 'no internal errors in the fresh proxy');
    } finally {
      [current, ourSentBy] = saved;
    }
  });

  t.test('dblreq.dat: the INVITE in the trailing octets is never seen', async (t) => {
    t.same(inbox.of('dblreq.0ha0isnda977644900765@192.0.2.15'), []);
  });

  t.test('RFC 2543 transaction matching: a retransmission without a magic-cookie branch is absorbed', async (t) => {
    for (const file of ['badbranch.dat', 'inv2543.dat']) {
      const before = await counters();
      send(corpus.read(file));
      const d = await deltaWhen(before, (x) => x.retransmissionsAbsorbed! >= 1);
      t.equal(d.retransmissionsAbsorbed, 1, `${file}: absorbed by its server transaction`);
      t.equal(d.requestsForwarded, 0, `${file}: not forwarded again`);
    }
  });

  let n = 0;
  const withOurVias = (raw: Buffer): Buffer => {
    n++;
    const eol = raw.indexOf('\r\n') + 2;
    const vias = `Via: SIP/2.0/UDP ${ourSentBy};branch=z9hG4bKsl-${n}\r\nVia: SIP/2.0/UDP 127.0.0.1:${sinkPort};branch=z9hG4bKup-${n}\r\n`;
    return Buffer.concat([raw.subarray(0, eol), Buffer.from(vias, 'latin1'), raw.subarray(eol)]);
  };

  for (const file of ['unreason.dat', 'noreason.dat']) {
    t.test(`${file}: a valid response through our Via goes to the next Via, ours removed`, async (t) => {
      const raw = corpus.read(file);
      const orig = parseMessage(raw).message;
      const before = await counters();
      send(withOurVias(raw));
      await inbox.until(() => inbox.of(orig.callId, 'sink').length > 0);
      const rx = inbox.of(orig.callId, 'sink')[0];
      if (!t.ok(rx?.msg !== undefined && !rx.msg.isRequest, 'the sink receives the response') || rx?.msg === undefined) return;
      const eol = raw.indexOf('\r\n');
      t.ok(rx.raw.subarray(0, eol).equals(raw.subarray(0, eol)), 'status line byte-identical (UTF-8 or empty reason)');
      t.same(rx.msg.getAll('via'), [`SIP/2.0/UDP 127.0.0.1:${sinkPort};branch=z9hG4bKup-${n}`, ...orig.getAll('via')], 'our Via removed, the rest kept');
      t.ok(rx.raw.subarray(bodyOffset(rx.raw)).equals(orig.body), 'body byte-identical');
      t.equal((await deltaWhen(before, (d) => d.responsesForwardedStateless! >= 1)).responsesForwardedStateless, 1);
    });
  }

  const dropped = (file: string, data: Buffer, parseError: boolean): void => {
    t.test(`${file}: dropped and counted, nothing sent`, async (t) => {
      const callId = /\r\nCall-ID:[ \t]*(\S+)/i.exec(data.toString('latin1'))![1]!;
      const before = await counters();
      send(data);
      const d = await deltaWhen(before, (x) => x.dropped! >= 1);
      t.equal(d.dropped, 1, 'dropped counter went up');
      t.equal(d.parseErrors, parseError ? 1 : 0, parseError ? 'as a parse error' : 'parsed, then refused');
      t.equal(d.messagesOut, 0, 'nothing sent');
      t.equal(d.responsesForwardedStateless, 0, 'nothing forwarded');
      await sleep(QUIET_MS);
      t.same(inbox.all().filter((r) => r.raw.includes(callId)), [], 'none of our sockets received anything of it');
    });
  };
  // bcast.dat: its top Via made ours, so the next hop would be the broadcast Via (RFC 4475 3.3.10)
  const bcast = Buffer.from(corpus.read('bcast.dat').toString('latin1').replace('Via: SIP/2.0/UDP 192.0.2.198;', `Via: SIP/2.0/UDP ${ourSentBy};`), 'latin1');
  dropped('bcast.dat', bcast, false);
  dropped('scalarlg.dat', corpus.read('scalarlg.dat'), false);
  dropped('bigcode.dat', corpus.read('bigcode.dat'), true);

  t.test('after the corpus: the proxy still answers OPTIONS and had no internal errors', async (t) => {
    const port = client.address().port;
    const callId = 'rfc4475-liveness@test';
    send(Buffer.from([
      `OPTIONS sip:${ourSentBy} SIP/2.0`,
      `Via: SIP/2.0/UDP 127.0.0.1:${port};branch=z9hG4bK-live1;rport`,
      'Max-Forwards: 70',
      'From: <sip:probe@127.0.0.1>;tag=l1',
      `To: <sip:${ourSentBy}>`,
      `Call-ID: ${callId}`,
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '', '',
    ].join('\r\n')));
    await inbox.until(() => inbox.of(callId, 'client').length > 0);
    t.same(inbox.of(callId, 'client').map(statusOf), [200], 'OPTIONS answered 200');
    const total = await counters();
    t.equal(total.internalErrors, 0, 'no internal errors in any shard');
    t.equal(proxy.mainStats.shardRestarts, 0, 'no shard restarted');
    t.ok(parseNameAddr(inbox.of(callId, 'client')[0]!.msg!.get('to')!).params.length > 0, 'To tagged');
  });
}
