// The comma-list helpers that cut a value instead of splitting it (restAfterFirst, countOfCommas,
// SipMessage.shift) answer exactly what splitCommas answers, on the awkward values as on the usual.
import t from 'tap';
import { parseMessage } from '../../lib/sip/parser.js';
import { countOfCommas, firstOfCommas, restAfterFirst, separatorOutside, splitCommas } from '../../lib/sip/split.js';

const VALUES = [
  'SIP/2.0/UDP a;branch=z9hG4bK-1',
  'SIP/2.0/UDP a;branch=z9hG4bK-1,SIP/2.0/UDP b;branch=z9hG4bK-2',
  'SIP/2.0/UDP a;branch=z9hG4bK-1 , SIP/2.0/UDP b;branch=z9hG4bK-2, SIP/2.0/UDP c',
  ', , a',
  'a, , b,',
  ',',
  '   ',
  '',
  '"Doe, John" <sip:j@h>, <sip:k@h;x=a,b>',
  '"quoted \\" comma, still" <sip:q@h>, b',
  '<sip:unclosed, x',
  'a,"open quote, to the end',
];

/** Every value through restAfterFirst, from the start and then from each returned offset. */
function cutAll(value: string): string[] {
  const out: string[] = [];
  for (let cut = restAfterFirst(value); cut !== undefined; cut = cut[1] === -1 ? undefined : restAfterFirst(value, cut[1])) out.push(cut[0]);
  return out;
}

t.test('cutting gives the values splitCommas gives', async (t) => {
  for (const v of VALUES) {
    const split = splitCommas(v);
    t.same(cutAll(v), split, `values of ${JSON.stringify(v)}`);
    t.equal(countOfCommas(v), split.length, `count of ${JSON.stringify(v)}`);
    t.equal(firstOfCommas(v), split[0], `first of ${JSON.stringify(v)}`);
  }
  t.equal(separatorOutside('"a,b" <c,d>, e', 0x2c), 11, 'commas in quotes and brackets are not separators');
  t.equal(separatorOutside('a, b', 0x2c, 2), -1, 'from an offset');
});

t.test('shift takes the first value and leaves the others as splitCommas sees them', async (t) => {
  for (const v of VALUES) {
    const m = parseMessage(Buffer.from(`SIP/2.0 200 OK\r\nVia: ${v}\r\nVia: SIP/2.0/UDP next\r\nCall-ID: c\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`, 'latin1')).message;
    const split = splitCommas(v);
    const first = m.shift('via');
    t.equal(first, split[0] ?? undefined, `shift of ${JSON.stringify(v)}`);
    t.same(m.getAll('via'), [...split.slice(1), 'SIP/2.0/UDP next'], `what stays after ${JSON.stringify(v)}`);
  }
});
