// The offset-indexed parse (CRLF messages) against the eager line-by-line parse that LF-only
// messages still take: same header names, values, line texts and defects for the same header
// section, also for random sections (seeded, bounded). Then the lazy SipMessage: reads from the
// index, materialized fields, mutation, clones and the serializer writing unchanged lines back.
import t from 'tap';
import { nameAddrParam, parseNameAddr, tagOf } from '../../lib/sip/name-addr.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { parseParams } from '../../lib/sip/split.js';
import { parseVia } from '../../lib/sip/via.js';

const START = 'OPTIONS sip:a@example.com SIP/2.0';

function both(lines: string[], body = ''): { crlf: ReturnType<typeof parseMessage>; lf: ReturnType<typeof parseMessage> } {
  const crlf = parseMessage(Buffer.from(`${[START, ...lines].join('\r\n')}\r\n\r\n${body}`, 'latin1'));
  // the LF-only form: continuation lines keep their CRLF inside the eager parser's line text
  const lf = parseMessage(Buffer.from(`${[START, ...lines.map((l) => l.replace(/\r\n/g, '\n'))].join('\n')}\n\n${body}`, 'latin1'));
  return { crlf, lf };
}

function fieldsOf(r: ReturnType<typeof parseMessage>): Array<[string, string, string | undefined]> {
  const m = r.message;
  const out: Array<[string, string, string | undefined]> = [];
  for (let i = 0; i < m.size; i++) out.push([m.nameAt(i), m.valueAt(i), m.lineAt(i)]);
  return out;
}

const CASES: Array<[string, string[]]> = [
  ['usual spellings', ['Via: SIP/2.0/UDP h;branch=z9hG4bK1', 'From: <sip:a@b>;tag=1', 'To: <sip:c@d>', 'Call-ID: x@y', 'CSeq: 1 OPTIONS', 'Max-Forwards: 70']],
  ['odd case, compact forms, lower case', ['VIA: SIP/2.0/UDP h', 'v: SIP/2.0/TCP g', 'call-id: a', 'I: b', 'cSEQ: 2 OPTIONS', 'l: 0', 'f: <sip:x@y>']],
  ['whitespace before the colon and around values', ['Via \t: SIP/2.0/UDP h ', 'To:\t<sip:c@d>\t', 'Subject:', 'X-Empty:   ']],
  ['folded lines', ['Subject: one\r\n two\r\n\tthree', 'Via: SIP/2.0/UDP h\r\n ;branch=z9hG4bK2', 'To: <sip:c@d>']],
  ['malformed lines left out', ['No colon here', 'Bad Name: x', '(paren): y', ': no name', 'To: <sip:c@d>']],
  ['a continuation line right after the start line', [' leading: space', 'To: <sip:c@d>']],
  ['names a byte away from known ones (same length and bucket)', ['\u00c3Seq: 1 OPTIONS', '\u0016ia: x', 'Viа: cyrillic', 'To: <sip:c@d>']],
  ['unknown headers and odd whitespace', ['X-Custom-Header: a b c', 'P-Thing:\u00a0nbsp\u00a0', 'X-Colon: a:b:c', 'Content-Length: 0']],
];

t.test('the index reads header sections as the eager parse does', async (t) => {
  for (const [what, lines] of CASES) {
    const { crlf, lf } = both(lines);
    t.same(fieldsOf(crlf), fieldsOf(lf), what);
    t.same(crlf.defect, lf.defect, `${what}: same defect`);
  }
});

t.test('random header sections: index and eager parse agree (seeded, 3000 sections)', async (t) => {
  let seed = 0x5eed;
  const rnd = (n: number): number => { seed = (Math.imul(seed, 1103515245) + 12345) >>> 0; return (seed >>> 8) % n; };
  const NAMES = ['Via', 'via', 'V', 'v', 'To', 't', 'From', 'Call-ID', 'call-id', 'CSeq', 'Contact', 'X-A', 'Max-Forwards', 'Content-Length',
    'Bad Name', '', 'Na(me', 'Subject', 'x.y!z', 'Route'];
  const PIECES = ['a', 'b', ' ', '\t', ';', '=', ',', ':', '"', '<', '>', 'sip:x@y', 'tag=1', '\u00a0', '\r\n ', '\r\n\t', '0', '12'];
  let checked = 0;
  for (let n = 0; n < 3000; n++) {
    const lines: string[] = [];
    for (let i = 0, k = 1 + rnd(8); i < k; i++) {
      let value = '';
      for (let j = 0, m = rnd(6); j < m; j++) value += PIECES[rnd(PIECES.length)]!;
      const sep = [':', ': ', ' :', '\t: ', ''][rnd(5)]!;
      lines.push(`${NAMES[rnd(NAMES.length)]!}${sep}${value}`);
    }
    // a line may not end in a continuation break, and the section may not hold an empty line
    if (lines.some((l) => l.endsWith('\r\n ') || l.endsWith('\r\n\t') || l === '')) continue;
    let crlf: ReturnType<typeof parseMessage>;
    let lf: ReturnType<typeof parseMessage>;
    try { ({ crlf, lf } = both(lines)); } catch { continue; }
    if (JSON.stringify(fieldsOf(crlf)) !== JSON.stringify(fieldsOf(lf)) || JSON.stringify(crlf.defect) !== JSON.stringify(lf.defect)) {
      t.fail(`differ for ${JSON.stringify(lines)}`);
      return;
    }
    checked++;
  }
  t.ok(checked > 1500, `${checked} sections compared`);
});

t.test('a parsed message reads from its index until someone asks for the header list', async (t) => {
  const raw = Buffer.from(`${START}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nv: SIP/2.0/UDP g;branch=z9hG4bKb, SIP/2.0/UDP k\r\nCall-ID: c1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabcdef`, 'latin1');
  const m = parseMessage(raw).message;
  t.equal(m.body.toString(), 'abc', 'body cut at Content-Length');
  t.equal(m.get('Call-ID'), 'c1', 'get() normalizes on a miss');
  t.equal(m.callId, 'c1');
  t.same(m.cseq(), { seq: 7, method: 'OPTIONS' });
  t.equal(m.count('via'), 2);
  t.same(m.getAll('v'), ['SIP/2.0/UDP h;branch=z9hG4bKa', 'SIP/2.0/UDP g;branch=z9hG4bKb', 'SIP/2.0/UDP k']);
  t.equal(m.topVia()?.host, 'h');
  const before = m.toBuffer().toString('latin1');
  t.equal(before, `${START}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nv: SIP/2.0/UDP g;branch=z9hG4bKb, SIP/2.0/UDP k\r\nCall-ID: c1\r\nCSeq: 7 OPTIONS\r\nContent-Length: 3\r\nX-A: 1\r\n\r\nabc`,
    'unchanged lines written back as received, Content-Length from the body');
  const copy = m.clone();
  copy.remove('x-a');
  copy.prepend('Via', 'SIP/2.0/UDP p;branch=z9hG4bKp');
  t.equal(m.get('x-a'), '1', 'editing a clone leaves the original alone');
  t.equal(m.topVia()?.host, 'h');
  t.equal(copy.topVia()?.host, 'p');
  t.equal(copy.get('x-a'), undefined);
  // the header list, once asked for, is the message's truth
  const fields = m.headers;
  t.equal(fields.length, 6);
  t.equal(m.toBuffer().toString('latin1'), before, 'the field serializer writes the same bytes');
  fields.splice(0, 1);
  t.equal(m.topVia()?.host, 'g', 'edits to the list are seen by reads');
});

t.test('serializer: two Content-Length lines, lines after malformed ones, no Content-Length', async (t) => {
  const two = parseMessage(Buffer.from(`${START}\r\nContent-Length: 0\r\nX-B: 2\r\nl: 9\r\nX-C: 3\r\n\r\n`, 'latin1'));
  t.same(two.defect, { status: 400, reason: 'Bad Content-Length' });
  const text = two.message.toBuffer().toString('latin1');
  t.equal(text, `${START}\r\nContent-Length: 0\r\nX-B: 2\r\nContent-Length: 0\r\nX-C: 3\r\n\r\n`, 'each Content-Length line rewritten in place');
  const gap = parseMessage(Buffer.from(`${START}\r\nX-A: 1\r\nbroken line\r\nX-B: 2\r\n\r\n`, 'latin1')).message;
  t.equal(gap.toBuffer().toString('latin1'), `${START}\r\nX-A: 1\r\nX-B: 2\r\nContent-Length: 0\r\n\r\n`, 'a malformed line is not written back');
  const none = parseMessage(Buffer.from(`${START}\r\nX-A: 1\r\n\r\n`, 'latin1')).message;
  t.equal(none.toBuffer().toString('latin1'), `${START}\r\nX-A: 1\r\nContent-Length: 0\r\n\r\n`);
});

t.test('a message larger than a datagram parses the same way', async (t) => {
  const body = 'x'.repeat(20000);
  const m = parseMessage(Buffer.from(`${START}\r\nVia: SIP/2.0/UDP h;branch=z9hG4bKa\r\nContent-Length: ${body.length}\r\n\r\n${body}`, 'latin1')).message;
  t.equal(m.body.length, 20000);
  t.equal(m.topVia()?.host, 'h');
});

t.test('the usual-Via fast path reads what the general path reads', async (t) => {
  const vias = ['SIP/2.0/UDP 127.0.0.1:5061;branch=z9hG4bK-1;rport', 'SIP/2.0/tcp Host.Example.COM;Branch=z9hG4bKx;received=1.2.3.4',
    'SIP/2.0/UDP h', 'SIP/2.0/TLS h:5061', 'SIP/2.0/UDP a-b.c:1;x;y=;=z', 'SIP/2.0/WSS h;maddr=224.2.0.1;ttl=16'];
  for (const v of vias) {
    // a space before ';' (or a trailing one) sends the same value down the general path
    const general = v.indexOf(';') === -1 ? `${v} ` : v.replace(';', ' ;');
    t.same(parseVia(v), parseVia(general), v);
  }
  for (const bad of ['SIP/2.0/UDP h:99999', 'SIP/2.0/UDP h:', 'SIP/2.0/UDP :5060', 'SIP/2.0/UDP h_x', 'SIP/2.0/UDP', 'SIP/2.0/UDP a b']) {
    t.throws(() => parseVia(bad), `${bad} still refused`);
  }
  t.same(parseVia('SIP/2.0/UDP [::1]:5060;branch=z9hG4bKv6').host, '[::1]', 'IPv6 through the general path');
});

t.test('plain parameters and the tag fast path read what the general paths read', async (t) => {
  for (const p of ['branch=z9hG4bK1;rport', 'A=B;c;TAG=x;tag=y', 'x=1;;y=2', '=v;k', 'lr']) {
    t.same(parseParams(p), parseParams(p.replace(/;/g, '; ')), p);
  }
  const values = ['<sip:a@b>;tag=123', 'Alice <sip:a@b>;x=1;TAG=Ab;tag=2', '<sip:a@b>', '<sip:a@b>;tag=', '<sip:a@b>;tag',
    '"Q" <sip:a@b>;tag=q', 'sip:a@b;tag=addr-spec', '<sip:a@b> ;tag=ws', '<sip:a@b>;tag=1 ', 'x <sip:a;tag=in-uri@b>;tag=out'];
  for (const v of values) {
    const t0 = nameAddrParam(parseNameAddr(v), 'tag');
    t.equal(tagOf(v), t0 === null ? undefined : t0, v);
  }
  t.throws(() => tagOf('<sip:a@b'), 'an unterminated <uri> is still refused');
  t.throws(() => tagOf('<sip:a@b>junk;tag=1'), 'junk after <uri> is still refused');
});

t.test('ports by digit scan and unquote without a regex pass keep their answers', async (t) => {
  const { parseHostPort } = await import('../../lib/sip/uri.js');
  const { unquote } = await import('../../lib/sip/split.js');
  t.same(parseHostPort('h:0'), { host: 'h', port: 0 });
  t.same(parseHostPort('H:65535'), { host: 'h', port: 65535 });
  t.same(parseHostPort('[::1]:5060'), { host: '[::1]', port: 5060 });
  for (const bad of ['h:65536', 'h:', 'h:123456', 'h:5o60', 'h:-1', 'h: 5060']) t.throws(() => parseHostPort(bad), { code: 'SIP_ERR_BAD_URI' }, bad);
  t.equal(unquote('"abc"'), 'abc');
  t.equal(unquote('"a\\"b\\\\c"'), 'a"b\\c', 'quoted-pairs still undone');
  t.equal(unquote('abc'), 'abc');
});
