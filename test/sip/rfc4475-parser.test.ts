// Every RFC 4475 torture message through the message layer, in-thread: parseMessage, then
// checkRequest / checkResponse, with the manifest's verdict. Statuses that belong to the proxy
// layer (416, 420, 483, 401) are asserted on the wire in test/proxy/rfc4475-wire.test.ts; here
// those messages must parse cleanly (and the pure request checks give the status where one exists).
import t, { type Test } from 'tap';
import { readdirSync } from 'node:fs';
import { parseAuthValue } from '../../lib/sip/auth-header.js';
import { parseNameAddr, nameAddrParam, tagOf } from '../../lib/sip/name-addr.js';
import { parseMessage, type ParseResult } from '../../lib/sip/parser.js';
import { escapeUser, parseUri, unescapeUser } from '../../lib/sip/uri.js';
import { checkRequest, checkResponse } from '../../lib/sip/validate.js';
import { parseVia, viaBranch } from '../../lib/sip/via.js';
import { isForbiddenDestination } from '../../lib/proxy/next-hop.js';
import { checkMaxForwards, checkProxyRequire, checkScheme, type Rejection } from '../../lib/proxy/request-checks.js';
import { serverKey } from '../../lib/txn/keys.js';
import { bodyOffset, openCorpus, type Rfc4475Case } from '../helpers/rfc4475-corpus.js';

type Extra = (t: Test, parsed: ParseResult, raw: Buffer) => void;

/** Rejected requests whose status the parser itself reports (the others fail checkRequest). */
const PARSER_DEFECTS = new Set(['clerr.dat', 'ncl.dat', 'lwsruri.dat', 'lwsstart.dat', 'badvers.dat', 'mcl01.dat']);

/** Rejections that come from the proxy layer: the message itself is well formed. */
const PROXY_LAYER: Record<string, (p: ParseResult) => Rejection | undefined> = {
  'unkscm.dat': (p) => checkScheme(p.message),
  'novelsc.dat': (p) => checkScheme(p.message),
  'bext01.dat': (p) => checkProxyRequire(p.message),
  'zeromf.dat': (p) => checkMaxForwards(p.message),
  // the registrar's business: it challenges with a scheme it knows (asserted on the wire)
  'regaut01.dat': () => ({ status: 401 }),
};

/**
 * "either" cases: what our parser does, on purpose.
 * - trws: rejected. RFC 3261 25.1 Request-Line = Method SP Request-URI SP SIP-Version CRLF has no
 *   room for trailing SP; a proxy that accepted it would forward a Request-Line it did not write.
 * - escruri, baddate, badaspec, baddn: accepted. None of them breaks framing or the fields a proxy
 *   acts on (Via, Max-Forwards, CSeq, Call-ID, Route); RFC 4475 expects a proxy to be liberal there.
 */
const EITHER: Record<string, 'reject' | 'accept'> = {
  'trws.dat': 'reject',
  'escruri.dat': 'accept',
  'baddate.dat': 'accept',
  'badaspec.dat': 'accept',
  'baddn.dat': 'accept',
};

function uriOf(header: string): ReturnType<typeof parseUri> {
  return parseUri(parseNameAddr(header).uri);
}

/** Specific checks beyond the verdict, per file. */
const EXTRA: Record<string, Extra> = {
  'wsinv.dat': (t, { message: m }) => {
    t.equal(m.method, 'INVITE');
    t.equal(m.uri, 'sip:vivekg@chair-dnrc.example.com;unknownparam');
    t.equal(tagOf(m.get('to')!), '1918181833n', 'folded To with LWS around ; and =');
    t.equal(tagOf(m.get('from')!), '98asjd8', 'From parameters on continuation lines');
    t.same(m.cseq(), { seq: 9, method: 'INVITE' }, 'CSeq 0009 folded over two lines');
    t.equal(m.get('max-forwards'), '0068');
    const via = parseVia(m.getAll('via')[0]!);
    t.same([via.protocol, via.transport, via.host, viaBranch(via)], ['SIP/2.0', 'UDP', '192.0.2.2', '390skdjuw'], 'Via with LWS around /');
    t.equal(m.getAll('route').length, 1);
    t.equal(m.get('newfangledheader'), 'newfangled value continued newfangled value');
  },
  'intmeth.dat': (t, { message: m }) => {
    t.equal(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
    const u = parseUri(m.uri);
    t.equal(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*", 'user part keeps ; ? / , and the like');
    t.equal(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
    t.equal(u.host, 'example.com');
    t.same(u.params, []);
    t.equal(m.cseq().method, m.method);
    t.equal(m.callId, "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
    t.equal(uriOf(m.get('to')!).user, u.user);
  },
  'esc01.dat': (t, { message: m }) => {
    const u = parseUri(m.uri);
    t.equal(u.user, 'sips%3Auser%40example.com', 'user part kept escaped as on the wire');
    t.equal(unescapeUser(u.user!), 'sips:user@example.com');
    t.equal(escapeUser(unescapeUser(u.user!)), u.user, 'escapeUser restores it (routing by number writes it back)');
    t.equal(u.host, 'example.net', 'the escaped @ does not end the user part');
    t.equal(unescapeUser(uriOf(m.get('to')!).user!), 'user');
    t.equal(unescapeUser(uriOf(m.get('from')!).user!), 'I have spaces');
    t.equal(m.callId, 'esc01.239409asdfakjkn23onasd0-3234', 'compact i:');
  },
  'escnull.dat': (t, { message: m }) => {
    t.equal(unescapeUser(uriOf(m.get('to')!).user!), 'null-\u0000-null');
    t.same(m.getAll('contact').map((c) => unescapeUser(uriOf(c).user!)), ['\u0000', '\u0000\u0000']);
  },
  'esc02.dat': (t, { message: m }) => {
    t.equal(m.method, 'RE%47IST%45R', 'no unescaping of a method: this is not REGISTER');
    t.equal(m.cseq().method, 'RE%47IST%45R');
    t.equal(m.count('contact'), 2, 'C%6Fntact is another header, not Contact');
    t.equal(m.get('c%6fntact'), '<sip:alias2@host2.example.com>');
    t.equal(parseNameAddr(m.get('to')!).display, '"%Z%45"');
  },
  'lwsdisp.dat': (t, { message: m }) => {
    const na = parseNameAddr(m.get('from')!);
    t.same([na.display, na.uri, tagOf(m.get('from')!)], ['caller', 'sip:caller@example.com', '323']);
  },
  'longreq.dat': (t, { message: m }, raw) => {
    t.equal(m.body.length, 150);
    t.ok(m.getAll('via').length >= 30, 'every Via, whatever the case of its name');
    t.equal(uriOf(m.get('to')!).port, 6000);
    t.ok(raw.length > 3000, 'a long datagram');
  },
  'dblreq.dat': (t, { message: m }, raw) => {
    t.equal(m.get('content-length'), '0');
    t.equal(m.body.length, 0, 'body is exactly Content-Length octets');
    t.ok(raw.length > bodyOffset(raw) + 100, 'the datagram really carries trailing octets');
    t.equal(m.callId, 'dblreq.0ha0isndaksdj99sdfafnl3lk233412', 'compact I:');
    t.same(m.cseq(), { seq: 8, method: 'REGISTER' });
    t.notMatch(m.toBuffer().toString('latin1'), /INVITE/, 'nothing of the trailing INVITE survives');
  },
  'semiuri.dat': (t, { message: m }) => {
    const u = parseUri(m.uri);
    t.equal(u.user, 'user;par=u%40example.net', '; inside the user part is not a URI parameter');
    t.equal(escapeUser(unescapeUser(u.user!)), u.user, '; and = stay, @ is escaped again');
    t.equal(u.host, 'example.com');
    t.same(u.params, []);
    t.equal(m.getAll('accept').length, 6, 'folded Accept list');
  },
  'transports.dat': (t, { message: m }) => {
    t.same(m.getAll('via').map((v) => parseVia(v).transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
    t.equal(m.callId, 'transports.kijh4akdnaqjkwendsasfdj');
  },
  'mpart01.dat': (t, { message: m }, raw) => {
    const start = bodyOffset(raw);
    t.equal(m.get('content-length'), '553');
    t.equal(raw.length - start, 553, 'the file holds exactly the body after the header section');
    t.ok(m.body.equals(raw.subarray(start)), 'body byte-identical to the file after the header section');
    t.ok(m.body.includes(0x00), 'body holds NUL');
    t.ok(/\r(?!\n)/.test(m.body.toString('latin1')), 'body holds a bare CR');
    t.match(m.get('content-type')!, /^multipart\/mixed;/);
  },
  'unreason.dat': (t, { message: m }, raw) => {
    t.equal(m.status, 200);
    const line = raw.subarray(0, raw.indexOf('\r\n'));
    t.ok(Buffer.from(`SIP/2.0 200 ${m.reason}`, 'latin1').equals(line), 'reason phrase octets kept as sent');
    t.equal(Buffer.from(m.reason, 'latin1').toString('utf8'), '= 2**3 * 5**2 но сто девяносто девять - простое');
    t.equal(m.body.length, 154);
  },
  'noreason.dat': (t, { message: m }) => {
    t.same([m.status, m.reason], [100, '']);
  },
  'scalar02.dat': (t, { message: m }) => {
    t.match(checkRequest(m)?.reason, /CSeq/, 'CSeq number beyond 2**31 - 1');
  },
  'scalarlg.dat': (t, { message: m }) => {
    t.equal(m.status, 503);
    t.equal(m.get('cseq'), '9292394834772304023312 OPTIONS');
  },
  'mismatch01.dat': (t, { message: m }) => { t.equal(checkRequest(m)?.reason, 'CSeq Method Mismatch'); },
  'mismatch02.dat': (t, { message: m }) => {
    t.equal(m.method, 'NEWMETHOD');
    t.equal(checkRequest(m)?.reason, 'CSeq Method Mismatch');
  },
  'insuf.dat': (t, { message: m }) => {
    t.same(['to', 'from', 'call-id'].map((h) => m.has(h)), [false, false, false]);
    t.match(checkRequest(m)?.reason, /^Missing /);
  },
  'multi01.dat': (t, { message: m }) => { t.match(checkRequest(m)?.reason, /^Duplicate /); },
  'mcl01.dat': (t, { defect }) => { t.equal(defect?.reason, 'Bad Content-Length', 'two Content-Length values'); },
  'clerr.dat': (t, { defect }) => { t.equal(defect?.reason, 'Content-Length Exceeds Message'); },
  'ncl.dat': (t, { message: m, defect }) => {
    t.equal(m.get('content-length'), '-999');
    t.equal(defect?.reason, 'Bad Content-Length');
  },
  'badvers.dat': (t, { defect }) => { t.equal(defect?.reason, 'Version Not Supported'); },
  'trws.dat': (t, { message: m, defect }) => {
    t.equal(defect?.reason, 'Malformed Request-Line');
    t.equal(checkRequest(m), undefined, 'the rest of the message is fine, so the 400 can be addressed');
  },
  'escruri.dat': (t, { message: m }) => {
    t.equal(parseUri(m.uri).headers, 'Route=%3Csip:example.com%3E', 'URI headers kept, not applied');
  },
  'baddate.dat': (t, { message: m }) => { t.equal(m.get('date'), 'Fri, 01 Jan 2010 16:00:00 EST'); },
  'badaspec.dat': (t, { message: m }) => {
    t.equal(parseNameAddr(m.get('to')!).uri, 'sip:t.watson@example.org', 'LWS inside <> tolerated');
  },
  'baddn.dat': (t, { message: m }) => {
    const from = parseNameAddr(m.get('from')!);
    t.same([from.display, from.uri, nameAddrParam(from, 'tag')], ['Bell, Alexander', 'sip:a.g.bell@example.com', '43']);
  },
  'regbadct.dat': (t, { message: m }) => {
    const c = parseNameAddr(m.get('contact')!);
    t.equal(c.bracketed, false);
    t.equal(c.uri, 'sip:user@example.com?Route=%3Csip:sip.example.com%3E');
  },
  'bext01.dat': (t, { message: m }) => {
    t.same(checkProxyRequire(m)?.headers, [['Unsupported', 'noProxiesSupportThis, norDoAnyProxiesSupportThis']]);
    t.same(m.getAll('require'), ['nothingSupportsThis', 'nothingSupportsThisEither'], 'Require is for the UAS, not us');
  },
  'badbranch.dat': (t, { message: m }) => {
    const via = parseVia(m.getAll('via')[0]!);
    t.equal(viaBranch(via), 'z9hG4bK', 'the magic cookie alone');
    t.match(serverKey(m, via), /^2543\|/, 'RFC 2543 transaction matching (RFC 3261 17.2.3)');
  },
  'inv2543.dat': (t, { message: m }) => {
    const via = parseVia(m.getAll('via')[0]!);
    t.equal(viaBranch(via), undefined, 'no branch at all');
    t.match(serverKey(m, via), /^2543\|/);
    t.equal(m.get('max-forwards'), undefined, 'no Max-Forwards: the proxy adds 70 (RFC 3261 16.6 step 3)');
    const to = parseNameAddr(m.get('to')!);
    // addr-spec form: ;user=phone after it is a header parameter (RFC 3261 20.10)
    t.same([to.uri, nameAddrParam(to, 'user')], ['sip:+16505552222@ss1.example.net', 'phone']);
  },
  'regaut01.dat': (t, { message: m }) => {
    t.equal(parseAuthValue(m.get('authorization')!).scheme, 'NoOneKnowsThisScheme');
  },
  'unksm2.dat': (t, { message: m }) => {
    t.same([uriOf(m.get('to')!).scheme, uriOf(m.get('from')!).scheme, uriOf(m.get('contact')!).scheme], ['isbn', 'http', 'name']);
  },
  'cparam01.dat': (t, { message: m }) => {
    const c = parseNameAddr(m.get('contact')!);
    t.equal(c.uri, 'sip:+19725552222@gw1.example.net', 'addr-spec: ;unknownparam is a header parameter');
    t.equal(nameAddrParam(c, 'unknownparam'), null);
  },
  'cparam02.dat': (t, { message: m }) => {
    const c = parseNameAddr(m.get('contact')!);
    t.same(parseUri(c.uri).params, [['unknownparam', null]], 'inside <>: a URI parameter');
    t.same(c.params, []);
  },
  'regescrt.dat': (t, { message: m }) => {
    t.equal(parseUri(parseNameAddr(m.get('contact')!).uri).headers, 'Route=%3Csip:sip.example.com%3E');
  },
  'invut.dat': (t, { message: m }) => {
    t.equal(m.get('content-type'), 'application/unknownformat');
    t.equal(m.body.length, 40);
  },
  'sdp01.dat': (t, { message: m }) => { t.same(m.getAll('accept'), ['text/nobodyKnowsThis']); },
  'bcast.dat': (t, { message: m }) => {
    const vias = m.getAll('via').map(parseVia);
    t.equal(vias[1]?.host, '255.255.255.255');
    t.ok(isForbiddenDestination(vias[1]!.host), 'the proxy never sends there');
  },
};

function requestCase(t: Test, c: Rfc4475Case, parsed: ParseResult): void {
  const { message: m, defect } = parsed;
  t.ok(m.isRequest, 'a request');
  const verdict = c.verdict === 'either' ? EITHER[c.file] : c.verdict === 'valid' ? 'accept' : 'reject';
  if (verdict === undefined) { t.fail(`no decision recorded for "either" case ${c.file}`); return; }
  if (verdict === 'accept') {
    t.equal(defect, undefined, 'no parse defect');
    t.equal(checkRequest(m), undefined, 'passes checkRequest');
    return;
  }
  if (c.status === 400 || c.status === 505) {
    const problem = defect ?? checkRequest(m);
    t.equal(problem?.status, c.status, `answered ${c.status}`);
    const byParser = PARSER_DEFECTS.has(c.file) || c.file === 'trws.dat';
    t.equal(defect !== undefined, byParser, byParser ? 'reported by the parser' : 'found by checkRequest');
    return;
  }
  const layer = PROXY_LAYER[c.file];
  if (layer === undefined) { t.fail(`no proxy-layer expectation for ${c.file} (status ${c.status})`); return; }
  t.equal(defect, undefined, 'parses cleanly: the status comes from the proxy layer');
  t.equal(checkRequest(m), undefined, 'passes checkRequest');
  t.equal(layer(parsed)?.status, c.status, `proxy layer answers ${c.status}`);
}

function responseCase(t: Test, c: Rfc4475Case, raw: Buffer): ParseResult | undefined {
  let parsed: ParseResult;
  try {
    parsed = parseMessage(raw);
  } catch (err) {
    t.not(c.verdict, 'valid', `a valid response must parse (${(err as Error).message})`);
    t.pass('parseMessage throws: the response is dropped');
    return undefined;
  }
  t.notOk(parsed.message.isRequest, 'a response');
  const usable = parsed.defect === undefined && checkResponse(parsed.message);
  // bcast.dat is well formed; its rejection is the proxy never sending to a broadcast Via
  const expectUsable = c.verdict === 'valid' || c.file === 'bcast.dat';
  t.equal(usable, expectUsable, expectUsable ? 'parses and passes checkResponse' : 'checkResponse refuses it');
  return parsed;
}

const corpus = openCorpus(t);
if (corpus !== undefined) {
  t.test('the manifest lists every .dat file of the corpus', async (t) => {
    const files = readdirSync(corpus.dir).filter((f) => f.endsWith('.dat')).sort();
    t.same(corpus.cases.map((c) => c.file).sort(), files);
    t.ok(corpus.cases.length >= 49);
  });

  for (const c of corpus.cases) {
    t.test(`${c.file} (${c.section} ${c.title}): ${c.verdict}${c.status === undefined ? '' : ` ${c.status}`}`, async (t) => {
      const raw = corpus.read(c.file);
      let parsed: ParseResult | undefined;
      if (c.kind === 'request') {
        parsed = parseMessage(raw);
        requestCase(t, c, parsed);
      } else {
        parsed = responseCase(t, c, raw);
      }
      const extra = EXTRA[c.file];
      if (extra !== undefined && parsed !== undefined) extra(t, parsed, raw);
    });
  }

  t.test('bigcode.dat: a status code of 4294967301 is no status line at all', async (t) => {
    t.throws(() => parseMessage(corpus.read('bigcode.dat')), { code: 'SIP_ERR_PARSE' });
  });
}
