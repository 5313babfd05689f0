// The parse side's byte fast paths (header names by the compiled prefix matcher, Content-Length,
// CSeq and the top Via read from the received bytes, the quick tag read) must give what the text
// parsers give: the same values, and the same verdict on a malformed message. Seeded, deterministic
// values (test/helpers/seeded-values.ts), many of them unusual on purpose.
import t, { type Test } from 'tap';
import { compilePrefixMatcher } from '../../lib/sip/byte-prefix.js';
import { cseqAt, parseCSeq } from '../../lib/sip/cseq.js';
import { indexHeaders } from '../../lib/sip/header-index.js';
import { tokenHeaderName } from '../../lib/sip/header-names.js';
import type { SipMessage } from '../../lib/sip/message.js';
import { nameAddrParam, parseNameAddr, tagOf } from '../../lib/sip/name-addr.js';
import { parseMessage, type ParseResult } from '../../lib/sip/parser.js';
import { splitCommas } from '../../lib/sip/split.js';
import { checkRequest } from '../../lib/sip/validate.js';
import { parseVia, usualViaAt } from '../../lib/sip/via.js';
import { cseqValue, decimalValue, headerName, nameAddrValue, outcome, pick, rng, sipRequest, viaValue } from '../helpers/seeded-values.js';

const same = (a: unknown, b: unknown): boolean => JSON.stringify(a) === JSON.stringify(b);

t.test('compiled prefix matcher: longest pattern, letters in either case, other bytes exact, bounded by end', async (t) => {
  const m = compilePrefixMatcher([['Via:', 'via'], ['v:', 'v'], ['Vi', 'vi'], ['a-b', 'a-b'], ['x:y', 'x:y']], { ignoreCase: true });
  const at = (s: string, end = s.length): string | undefined => m(Buffer.from(s, 'latin1'), 0, end);
  t.same(['via:', 'VIA:', 'vIa:', 'v:', 'V:', 'vi', 'VIx', 'vib:'].map((s) => at(s)), ['via', 'via', 'via', 'v', 'v', 'vi', 'vi', 'vi']);
  t.equal(at('Via:', 3), 'vi', 'a longer pattern past `end` does not match');
  t.equal(at('Vi', 1), undefined);
  t.same(['a-b', 'A-B', 'a\rb', 'a\u000db', 'x:y', 'X:Y', 'x\u001ay'].map((s) => at(s)), ['a-b', 'a-b', undefined, undefined, 'x:y', 'x:y', undefined],
    'only letters fold: CR (0x0d | 0x20 is "-") and SUB (0x1a | 0x20 is ":") do not match');
  t.equal(at('\u00c9'), undefined, 'bytes above 0x7f never fold');
  t.equal(m(Buffer.from('xxVia:', 'latin1'), 2, 6), 'via', 'matches at an offset');
  const exact = compilePrefixMatcher([['INVITE', 1], ['INFO', 2]]);
  t.same(['INVITE', 'invite', 'INFO', 'INF'].map((s) => exact(Buffer.from(s), 0, s.length)), [1, undefined, 2, undefined], 'case matters unless asked');
  t.throws(() => compilePrefixMatcher([['Via', 1], ['VIA', 2]], { ignoreCase: true }), /given twice/);
  t.throws(() => compilePrefixMatcher([['', 1]]), /empty/);
});

t.test('header names: the matcher names a line as the token check does (seeded, 5000 names)', async (t) => {
  const rnd = rng(0x4e41);
  const NAMES: Array<[string, string?]> = [['Via', 'v'], ['From', 'f'], ['To', 't'], ['Call-ID', 'i'], ['CSeq'], ['Content-Length', 'l'],
    ['Contact', 'm'], ['Content-Type', 'c'], ['Max-Forwards'], ['Record-Route'], ['WWW-Authenticate'], ['Min-SE'], ['X-Via'], ['Vias'],
    ['Contents'], ['Cont'], ['Subject', 's'], ['Refer-To', 'r'], ['Allow-Events', 'u'], ['Bad Name'], ['T\u00ef'], ['Call-I\u00c4']];
  let checked = 0;
  for (let i = 0; i < 5000; i++) {
    const [canonical, compact] = pick(rnd, NAMES);
    const name = headerName(rnd, canonical, compact);
    const text = `OPTIONS sip:a@b SIP/2.0\r\n${name}: x\r\n\r\n`;
    const index = indexHeaders(Buffer.from(text, 'latin1'), text, text.indexOf('\n') + 1, text.length);
    // the general path: RFC 3261 7.3.1 allows LWS before the colon; a name must be a token
    const want = tokenHeaderName(name.replace(/[ \t]+$/, ''));
    if (!same([...index.names], want === undefined ? [] : [want]) || index.malformed !== (want === undefined)) {
      t.fail(`${JSON.stringify(name)}: ${JSON.stringify(index.names)} (malformed ${index.malformed}) vs ${String(want)}`);
    } else checked++;
  }
  t.equal(checked, 5000);
});

/** `value` as the only header line of a message, indexed: the index and the line number 0. */
function indexed(name: string, value: string): ReturnType<typeof indexHeaders> {
  const text = `OPTIONS sip:a@b SIP/2.0\r\n${name}: ${value}\r\n\r\n`;
  return indexHeaders(Buffer.from(text, 'latin1'), text, text.indexOf('\n') + 1, text.length);
}

/**
 * `count` generated values: every answer the fast readers give (undefined is no answer: the text
 * path decides) equals the text reader's. How many values some fast reader answered.
 */
function fastAgrees(t: Test, count: number, value: () => string, fast: (v: string) => unknown[], text: (v: string) => unknown): number {
  let answered = 0;
  for (let i = 0; i < count; i++) {
    const v = value();
    const got = fast(v).filter((x) => x !== undefined);
    if (got.length === 0) continue;
    answered++;
    const want = text(v);
    if (got.some((x) => !same(x, want))) t.fail(`${JSON.stringify(v)}: ${JSON.stringify(got)} vs ${JSON.stringify(want)}`);
  }
  return answered;
}

t.test('Via from the bytes: the Via parseVia reads from the text, or no answer (seeded, 20000 values)', async (t) => {
  const rnd = rng(0x5e1a);
  const fast = fastAgrees(t, 20000, () => viaValue(rnd), (v) => {
    const buf = Buffer.from(`xx${v}yy`, 'latin1');
    const index = indexed('Via', v);
    return [usualViaAt(buf, buf.toString('latin1'), 2, 2 + v.length), index.size === 1 ? index.usualVia(0) : undefined];
  // the value the message reads: the first one of the line (the index reads one ahead of a ',')
  }, (v) => outcome(() => parseVia(splitCommas(v)[0]!)));
  t.ok(fast > 1000, `${fast} values read from the bytes`);
  const usual = 'SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-4821-1-0;rport';
  t.same(usualViaAt(Buffer.from(usual), usual, 0, usual.length), parseVia(usual), 'the usual form is read from the bytes');
  // a response's line as sipp writes it: our Via, then the caller's
  const list = `SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-p.1,${usual}`;
  t.same(indexed('Via', list).usualVia(0), parseVia('SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bK-p.1'), 'the first of a list line from the bytes');
  t.equal(usualViaAt(Buffer.from(list), list, 0, list.length), undefined, 'and not without asking for the first');
  t.equal(indexed('Via', `SIP/2.0/UDP h;branch=z9hG4bK-1 ,${usual}`).usualVia(0), undefined, 'space before the comma: the text path');
});

t.test('CSeq from the bytes: what parseCSeq reads from the text, or no answer (seeded, 20000 values)', async (t) => {
  const rnd = rng(0xc5e9);
  const fast = fastAgrees(t, 20000, () => cseqValue(rnd), (v) => [indexed('CSeq', v).cseq(0)], (v) => parseCSeq(indexed('CSeq', v).value(0)));
  t.ok(fast > 5000, `${fast} values read from the bytes`);
  const b = Buffer.from('000000000000123 INVITE 1234567890123456 BYE');
  t.same(cseqAt(b, b.toString('latin1'), 0, 22), { seq: 123, method: 'INVITE' }, 'leading zeros: 15 digits still read from the bytes');
  t.equal(cseqAt(b, b.toString('latin1'), 23, b.length), undefined, '16 digits and more: the text path (Number) decides');
});

t.test('Content-Length from the bytes: the number the text gives, or no answer (seeded, 20000 values)', async (t) => {
  const rnd = rng(0xc1);
  const decimal = (v: string): number => indexed('Content-Length', v).decimal(0);
  const fast = fastAgrees(t, 20000, () => decimalValue(rnd), (v) => [decimal(v) === -1 ? undefined : decimal(v)], (v) => {
    // the parser's rule: 1 to 9 decimal digits, after trimming
    const text = indexed('Content-Length', v).value(0);
    return /^[0-9]{1,9}$/.test(text) ? Number(text) : -1;
  });
  t.ok(fast > 5000, `${fast} values read from the bytes`);
  t.same(['0', '129', '000000129', ' 7 ', '\t42\t', '999999999'].map(decimal), [0, 129, 129, 7, 42, 999999999], 'plain digits: from the bytes');
  t.same(['1234567890', '', '+1', '1 2', '\u00a05'].map(decimal), [-1, -1, -1, -1, -1], 'anything else: the text decides');
});

t.test('tag: the quick read gives what parseNameAddr gives, throws included (seeded, 20000 values)', async (t) => {
  const rnd = rng(0x7a9);
  let checked = 0;
  for (let i = 0; i < 20000; i++) {
    const v = nameAddrValue(rnd);
    const general = outcome(() => nameAddrParam(parseNameAddr(v), 'tag') ?? undefined);
    const fast = outcome(() => tagOf(v));
    if (fast !== general) t.fail(`${JSON.stringify(v)}: ${String(fast)} vs ${String(general)}`);
    else checked++;
  }
  t.equal(checked, 20000);
});

/** What a proxy reads of a request, and its verdicts, as comparable values. */
function readings(r: ParseResult | string): unknown {
  if (typeof r === 'string') return r;
  const m: SipMessage = r.message;
  return {
    defect: r.defect, body: m.body.toString('latin1'), cseq: outcome(() => m.cseq()), via: outcome(() => m.topVia()),
    from: outcome(() => tagOf(m.get('from'))), to: outcome(() => tagOf(m.get('to'))), check: outcome(() => checkRequest(m)),
    names: Array.from({ length: m.size }, (_, i) => m.nameAt(i)),
  };
}

t.test('whole requests: the indexed parse with its byte paths reads and judges as the text-only parse (seeded, 5000)', async (t) => {
  // the LF-only form of the same request takes the eager line-by-line parse: no index, no byte path
  const rnd = rng(0x3261);
  let checked = 0;
  let clean = 0;
  for (let i = 0; i < 5000; i++) {
    const wire = sipRequest(rnd);
    const fast = readings(outcome(() => parseMessage(Buffer.from(wire, 'latin1'))));
    const text = readings(outcome(() => parseMessage(Buffer.from(wire.replace(/\r\n/g, '\n'), 'latin1'))));
    if (!same(fast, text)) t.fail(`${JSON.stringify(wire)}:\n${JSON.stringify(fast)}\nvs\n${JSON.stringify(text)}`);
    else checked++;
    if (typeof fast === 'object' && (fast as { check: unknown }).check === undefined) clean++;
  }
  t.equal(checked, 5000);
  t.ok(clean > 500 && clean < 4500, `${clean} of 5000 requests pass checkRequest: both verdicts are exercised`);
});
