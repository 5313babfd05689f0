// The parser's fast paths on text (a regex-checked Via, the quick tag read, header names matched by
// their bytes) must read exactly what the general paths read: the same Via, the same tag, the same
// verdict on a malformed value. Seeded random values built from the pieces that tell the paths apart.
import t from 'tap';
import { nameAddrParam, parseNameAddr, tagOf } from '../../lib/sip/name-addr.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { generalVia, parseVia } from '../../lib/sip/via.js';
import { outcome, pick, rng } from '../helpers/seeded-values.js';

t.test('Via: the fast path reads what the general parse reads (seeded, 20000 values)', async (t) => {
  const rnd = rng(0x51a);
  const TRANSPORTS = ['UDP', 'TCP', 'TLS', 'udp', 'Tcp', 'SCTP', 'WS', 'X1', ''];
  const HOSTS = ['127.0.0.1', 'example.com', 'Example.COM', 'a-b.c', '[::1]', '', 'h_x', 'host name', '1.2.3.4'];
  const PORTS = ['', ':5060', ':0', ':65535', ':65536', ':99999', ':123456', ':', ':5x', ' : 5060'];
  const PARAMS = ['', ';branch=z9hG4bK1', ';rport', ';received=1.2.3.4', ';Branch=X', ';branch=a=b', ';;', ';', ';=x', ';a b', ';a="q"',
    ';a=<x>', ';a=\u00a0', ';maddr=224.0.0.1;ttl=1', ';a=\u00e9', ';x>'];
  let checked = 0;
  for (let i = 0; i < 20000; i++) {
    let v = `${pick(rnd, ['SIP/2.0/', 'SIP/2.0/', 'SIP/2.0/', 'sip/2.0/', 'SIP / 2.0 / '])}${pick(rnd, TRANSPORTS)}${pick(rnd, [' ', ' ', '  ', '\t'])}`;
    v += `${pick(rnd, HOSTS)}${pick(rnd, PORTS)}`;
    for (let j = 0, n = rnd(4); j < n; j++) v += pick(rnd, PARAMS);
    const fast = outcome(() => parseVia(v));
    const general = outcome(() => generalVia(v));
    if (JSON.stringify(fast) !== JSON.stringify(general)) t.fail(`${JSON.stringify(v)}: ${JSON.stringify(fast)} vs ${JSON.stringify(general)}`);
    else checked++;
  }
  t.equal(checked, 20000);
});

t.test('tag: the fast path reads what parseNameAddr reads (seeded, 20000 values)', async (t) => {
  const rnd = rng(0x7a9);
  const HEADS = ['', 'sipp ', 'Bob ', '"Bob" ', 'a b '];
  const URIS = ['<sip:a@b>', '<sip:9000@127.0.0.1:5060>', '<sip:a@b;lr>', '<sip:a;tag=u@b>'];
  const PARAMS = [';tag=4821SIPpTag001', ';tag=x', ';TAG=y', ';Tag=z', ';tag', ';tagx=1', ';tag=', ';tag=a=b', ';expires=30', ';q=0.5',
    ';a', ';;', ';', ' ;tag=s', ';tag =t', ';tag= u', ';tag="q"', ';a=<b>', ';a=\u00a0', ';x=\u00e9', ' '];
  let checked = 0;
  for (let i = 0; i < 20000; i++) {
    let v = `${pick(rnd, HEADS)}${pick(rnd, URIS)}`;
    for (let j = 0, n = rnd(4); j < n; j++) v += pick(rnd, PARAMS);
    const general = outcome(() => nameAddrParam(parseNameAddr(v), 'tag') ?? undefined);
    if (typeof general === 'string' && general.startsWith('throws')) continue;
    const fast = outcome(() => tagOf(v));
    if (fast !== general) t.fail(`${JSON.stringify(v)}: ${String(fast)} vs ${String(general)}`);
    else checked++;
  }
  t.ok(checked > 15000, `${checked} values compared`);
});

t.test('header names: a usual spelling is recognised only when every byte and the colon match', async (t) => {
  const names = (lines: string[]): string[] => {
    const m = parseMessage(Buffer.from(`OPTIONS sip:a@b SIP/2.0\r\n${lines.join('\r\n')}\r\n\r\n`, 'latin1')).message;
    return Array.from({ length: m.size }, (_, i) => m.nameAt(i));
  };
  t.same(names(['Via: a', 'Vib: b', 'Vi: c', 'Viaa: d', 'Via : e', 'v: f', 'v : g']), ['via', 'vib', 'vi', 'viaa', 'via', 'via', 'via']);
  t.same(names(['Content-Length: 0', 'Content-Lengtx: 1', 'Contact: x', 'Contacts: y', 'Content-Type: z']),
    ['content-length', 'content-lengtx', 'contact', 'contacts', 'content-type']);
  t.same(names(['To: a', 'T\u00ef: b', '\u00c3o: c', 'Call-ID: d', 'Call-Id: e', 'CALL-ID: f', 'i: g']),
    ['to', 'call-id', 'call-id', 'call-id', 'call-id'], 'non-token names are left out (and reported)');
  t.same(parseMessage(Buffer.from('OPTIONS sip:a@b SIP/2.0\r\nT\u00ef: b\r\n\r\n', 'latin1')).defect, { status: 400, reason: 'Malformed Header Line' });
});

t.test('the header end found while indexing: the body and Content-Length as before', async (t) => {
  const parse = (s: string): ReturnType<typeof parseMessage> => parseMessage(Buffer.from(s, 'latin1'));
  t.equal(parse('OPTIONS sip:a@b SIP/2.0\r\n\r\nbody').message.body.toString(), 'body', 'no header lines');
  t.equal(parse('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 2\r\n\r\nbody').message.body.toString(), 'bo', 'octets past Content-Length dropped');
  t.same(parse('OPTIONS sip:a@b SIP/2.0\r\nl: 2\r\nContent-Length: 2\r\n\r\nbo').defect, { status: 400, reason: 'Bad Content-Length' }, 'two lengths');
  t.same(parse('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: 9\r\n\r\nbo').defect, { status: 400, reason: 'Content-Length Exceeds Message' });
  t.same(parse('OPTIONS sip:a@b SIP/2.0\r\nContent-Length: x\r\n\r\nbo').defect, { status: 400, reason: 'Bad Content-Length' });
  const folded = parse('OPTIONS sip:a@b SIP/2.0\r\nSubject: a\r\n b\r\nTo: <sip:c@d>\r\n\r\nxy').message;
  t.same([folded.get('subject'), folded.get('to'), folded.body.toString()], ['a b', '<sip:c@d>', 'xy'], 'a folded line before the end');
  const bareLf = parse('OPTIONS sip:a@b SIP/2.0\r\nX-A: 1\n2\r\n\r\nz').message;
  t.same([bareLf.get('x-a'), bareLf.body.toString()], ['1\n2', 'z'], 'a bare LF inside a line ends nothing');
  const lfOnly = parse('OPTIONS sip:a@b SIP/2.0\nTo: <sip:c@d>\n\nxy').message;
  t.same([lfOnly.get('to'), lfOnly.body.toString()], ['<sip:c@d>', 'xy'], 'LF-only messages still take the line-by-line parse');
  t.throws(() => parse('OPTIONS sip:a@b SIP/2.0\r\nTo: <sip:c@d>'), { code: 'SIP_ERR_PARSE' }, 'no header end at all');
});
