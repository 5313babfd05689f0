// parseDigestCredentials (the one-scan reader of the fields a digest check needs) against
// parseAuthValue (the general parser it replaces on the registrar's path): the same verdict on
// malformed values (undefined where that throws) and the same value for every field, on hand-picked
// quoting edge cases and on many seeded random values built from the awkward pieces.
import t from 'tap';
import { parseAuthValue, parseDigestCredentials, type DigestCredentials } from '../../lib/sip/auth-header.js';
import { rng } from '../fuzz/lib/mutator.js';

const FIELDS = ['username', 'realm', 'nonce', 'uri', 'response', 'qop', 'nc', 'cnonce', 'algorithm', 'opaque'] as const;

/** What the old parser makes of `value`, in the new one's shape (undefined where it throws). */
function reference(value: string): DigestCredentials | undefined {
  let parsed;
  try {
    parsed = parseAuthValue(value);
  } catch {
    return undefined;
  }
  const out = { scheme: parsed.scheme } as DigestCredentials;
  for (const f of FIELDS) out[f] = parsed.params.get(f);
  return out;
}

function sameAsReference(value: string): { ok: boolean; got: unknown; want: unknown } {
  const want = reference(value);
  const got = parseDigestCredentials(value);
  if (want === undefined || got === undefined) return { ok: want === got, got, want };
  const ok = got.scheme === want.scheme && FIELDS.every((f) => got[f] === want[f]);
  return { ok, got, want };
}

const EDGE_CASES = [
  '',
  '   ',
  'Digest',
  ' Digest ',
  'Digest username="alice"',
  'Digest\tusername="alice",realm="x"',
  'Digest\xa0username=alice',
  'Digest\u3000username=alice',
  '\ufeffDigest username=alice\ufeff',
  'Digest username="alice", realm="example.com", nonce="abc", uri="sip:example.com", response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="xyz", opaque="op"',
  'Digest username="a,b", realm="x"',
  'Digest username="a\\"b", realm="x"',
  'Digest username="a\\\\", realm="x"',
  'Digest username="a\\', // a backslash ends the value inside an open quote
  'Digest username="unterminated, realm="x"',
  'Digest username=<a,b>, realm=x',
  'Digest username=a>b, realm=x',
  'Digest username=<<a>, realm=x, nonce=<>,>',
  'Digest USERNAME="Alice", Realm=X, NONCE=n',
  'Digest username = "spaced" , realm= x ,nonce =y',
  'Digest username="first", username="second"',
  'Digest username="first", username',
  'Digest username, realm="r"',
  'Digest =x, realm="r"',
  'Digest username=, realm=""',
  'Digest username="", realm="\\"',
  'Digest realm="a=b", username=c=d',
  'Digest "username"="x"',
  'Digest user"name="x", realm=r',
  'Digest username="x\\=y", realm=r',
  'Digest user\\=name=x',
  'Digest "a\\=b"=c, realm=r',
  'Digest \u212aey=v, realm=r', // Kelvin sign lower-cases to an ASCII 'k'
  'Digest na\u0130me=v',
  'Digest username="a\\\nb", realm=r',
  'Digest ,,, realm=r,,',
  'Digest  ,  realm  =  r  ,  ',
  'Digest\r\n username=x',
  'Basic dXNlcjpwYXNz',
  'Digest nc=00000001, NC=00000002',
  'Digest response="x", response=y, response=',
];

t.test('hand-picked quoting and whitespace edge cases', async (t) => {
  for (const value of EDGE_CASES) {
    const r = sameAsReference(value);
    t.ok(r.ok, JSON.stringify(value), r.ok ? {} : { got: r.got, want: r.want });
  }
});

const SCHEMES = ['Digest', 'digest', 'DIGEST', 'Basic', '', 'Dig"est', 'Di,gest', 'Digest='];
const GAPS = [' ', '\t', '  ', '\xa0', '', '\r\n ', ' \t '];
const NAMES = [...FIELDS, ...FIELDS.map((f) => f.toUpperCase()), 'stale', 'foo', 'user name', 'nc ', ' uri', 'Realm', 'cnonce2', 'qo', 'algorithms', ''];
const VALUES = [
  'alice', '"alice"', '""', '', '"a,b"', '"a\\"b"', '"a\\\\"', '"open', 'close"', '<a,b>', '<x', 'y>', '"a=b"', 'a=b',
  'MD5', 'sha-256', 'auth', '"auth,auth-int"', '00000001', 'sip:example.com;transport=tcp', '"sip:x@y,z"',
  '"\\', '\\', '"x"y"', ' "padded" ', '"tab\tin"', 'caf\xe9', '"\xe9t\xe9"',
];
const JOINS = [',', ', ', ' ,', ',,', '\t,\t', ' , ', ','];
const NOISE = [',', '"', '\\', '=', '<', '>', ' ', '\t', 'a', '\xa0', '\u3000', '\u212a', '\r', '\n'];

function randomValue(next: () => number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  let v = pick(GAPS.slice(0, 2)) === ' ' && next() < 0.2 ? ' ' : '';
  v += pick(SCHEMES) + pick(GAPS);
  const n = Math.floor(next() * 8);
  for (let i = 0; i < n; i++) {
    if (i > 0) v += pick(JOINS);
    const name = pick(NAMES);
    const form = next();
    if (form < 0.08) v += name; // no '='
    else if (form < 0.16) v += `${name} = ${pick(VALUES)}`;
    else v += `${name}=${pick(VALUES)}`;
  }
  // a few characters sprinkled anywhere: quotes, escapes and separators in the wrong places
  const sprinkles = next() < 0.5 ? 0 : Math.floor(next() * 4);
  for (let i = 0; i < sprinkles; i++) {
    const at = Math.floor(next() * (v.length + 1));
    v = v.slice(0, at) + pick(NOISE) + v.slice(at);
  }
  if (next() < 0.1) v += pick(GAPS);
  return v;
}

t.test('seeded random values: same verdict and fields as parseAuthValue', async (t) => {
  const SEED = 0x5eed;
  const next = rng(SEED);
  let malformed = 0;
  let withFields = 0;
  const failures: string[] = [];
  for (let i = 0; i < 40_000; i++) {
    const value = randomValue(next);
    const r = sameAsReference(value);
    if (r.want === undefined) malformed++;
    else if (FIELDS.some((f) => (r.want as DigestCredentials)[f] !== undefined)) withFields++;
    if (!r.ok && failures.length < 5) failures.push(`${i}: ${JSON.stringify(value)} got ${JSON.stringify(r.got)} want ${JSON.stringify(r.want)}`);
  }
  t.same(failures, [], `no difference (seed ${SEED})`);
  // the generator must reach both outcomes, or the comparison proves little
  t.ok(malformed > 1000, `${malformed} malformed values`);
  t.ok(withFields > 20_000, `${withFields} values with credential fields`);
});
