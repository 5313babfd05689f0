// Inputs the fuzzer starts from: the RFC 4475 torture corpus (when present), our own valid
// messages of every kind the proxy meets, and every input that ever failed (test/fuzz/corpus/).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../../lib/config/load-config.js';
import { corpusDir } from '../../helpers/rfc4475-corpus.js';

export const REGRESSION_DIR = join(packageRoot(), 'test', 'fuzz', 'corpus');

const P = 5060;
const own = [
  `INVITE sip:9000@127.0.0.1:${P} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\nMax-Forwards: 70\r\nFrom: "A" <sip:caller@127.0.0.1>;tag=a1\r\nTo: <sip:9000@127.0.0.1>\r\nCall-ID: c1@fuzz\r\nCSeq: 1 INVITE\r\nContact: <sip:caller@127.0.0.1:5070>\r\nContent-Type: application/sdp\r\nContent-Length: 31\r\n\r\nv=0\r\no=- 1 1 IN IP4 127.0.0.1\r\n`,
  `INVITE sip:101@127.0.0.1 SIP/2.0\r\nv: SIP/2.0/TCP 127.0.0.1:5070;branch=z9hG4bK-2\r\nf: <sip:100@127.0.0.1>;tag=x\r\nt: <sip:101@127.0.0.1>\r\ni: c2@fuzz\r\nCSeq: 7 INVITE\r\nm: <sip:100@127.0.0.1:5070;transport=tcp>\r\nProxy-Authorization: Digest username="100", realm="sipshard", nonce="AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", uri="sip:101@127.0.0.1", response="0123456789abcdef0123456789abcdef", algorithm=MD5, qop=auth, nc=00000001, cnonce="c"\r\nl: 0\r\n\r\n`,
  `REGISTER sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-3\r\nMax-Forwards: 70\r\nFrom: <sip:100@127.0.0.1>;tag=r\r\nTo: <sip:100@127.0.0.1>\r\nCall-ID: r1@fuzz\r\nCSeq: 2 REGISTER\r\nContact: <sip:100@127.0.0.1:5070>;expires=600;q=0.5;+sip.instance="<urn:uuid:1>";reg-id=1\r\nContact: *\r\nExpires: 3600\r\nPath: <sip:edge@127.0.0.1;lr>\r\nAuthorization: Digest username="100", realm="sipshard", nonce="x", uri="sip:127.0.0.1", response="00"\r\nContent-Length: 0\r\n\r\n`,
  `BYE sip:127.0.0.1:5080 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-4\r\nRoute: <sip:127.0.0.1:${P};lr>, <sip:127.0.0.2;lr>\r\nMax-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=a1\r\nTo: <sip:9000@127.0.0.1>;tag=b1\r\nCall-ID: c1@fuzz\r\nCSeq: 2 BYE\r\nContent-Length: 0\r\n\r\n`,
  `CANCEL sip:9000@127.0.0.1:${P} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\nMax-Forwards: 70\r\nFrom: "A" <sip:caller@127.0.0.1>;tag=a1\r\nTo: <sip:9000@127.0.0.1>\r\nCall-ID: c1@fuzz\r\nCSeq: 1 CANCEL\r\nContent-Length: 0\r\n\r\n`,
  `ACK sip:9000@127.0.0.1:${P} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;rport\r\nMax-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=a1\r\nTo: <sip:9000@127.0.0.1>;tag=b1\r\nCall-ID: c1@fuzz\r\nCSeq: 1 ACK\r\nContent-Length: 0\r\n\r\n`,
  `OPTIONS sip:127.0.0.1:${P} SIP/2.0\r\nVia: SIP/2.0/UDP [::1]:5070;branch=z9hG4bK-5\r\nMax-Forwards: 0\r\nFrom: <sip:p@127.0.0.1>;tag=p\r\nTo: <tel:+1-201-555-0123;phone-context=example.com>\r\nCall-ID: o1@fuzz\r\nCSeq: 1 OPTIONS\r\nProxy-Require: foo\r\nContent-Length: 0\r\n\r\n`,
  `INVITE tel:+1-201-555-0123 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-6\r\nVia: SIP/2.0/UDP 127.0.0.1:${P};branch=z9hG4bK-loop\r\nMax-Forwards: 70\r\nFrom: <sip:caller@127.0.0.1>;tag=a1\r\nTo: <tel:+12015550123>\r\nCall-ID: t1@fuzz\r\nCSeq: 1 INVITE\r\nRecord-Route: <sip:127.0.0.9;lr>\r\nContent-Length: 0\r\n\r\n`,
  `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.1:${P};branch=z9hG4bK-x-0\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-1;received=127.0.0.1;rport=5070\r\nRecord-Route: <sip:127.0.0.1:${P};lr>\r\nFrom: <sip:caller@127.0.0.1>;tag=a1\r\nTo: <sip:9000@127.0.0.1>;tag=b1\r\nCall-ID: c1@fuzz\r\nCSeq: 1 INVITE\r\nContact: <sip:127.0.0.1:5080>\r\nContent-Length: 0\r\n\r\n`,
  `SIP/2.0 407 Proxy Authentication Required\r\nVia: SIP/2.0/UDP 127.0.0.1:${P};branch=z9hG4bK-y\r\nFrom: <sip:a@127.0.0.1>;tag=a\r\nTo: <sip:b@127.0.0.1>;tag=b\r\nCall-ID: c3@fuzz\r\nCSeq: 1 INVITE\r\nProxy-Authenticate: Digest realm="x", nonce="n", qop="auth"\r\nContent-Length: 0\r\n\r\n`,
];

export function loadSeeds(): { seeds: Buffer[]; rfc4475: number; regressions: number } {
  const seeds: Buffer[] = own.map((s) => Buffer.from(s, 'latin1'));
  let rfc4475 = 0;
  const dir = corpusDir();
  if (existsSync(dir)) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith('.dat')).sort()) { seeds.push(readFileSync(join(dir, f))); rfc4475++; }
  }
  const regs = regressionCases();
  for (const r of regs) seeds.push(r.data);
  return { seeds, rfc4475, regressions: regs.length };
}

export function regressionCases(): Array<{ name: string; data: Buffer }> {
  if (!existsSync(REGRESSION_DIR)) return [];
  return readdirSync(REGRESSION_DIR).filter((n) => n.endsWith('.sip')).sort().map((name) => ({ name, data: readFileSync(join(REGRESSION_DIR, name)) }));
}

/** Keep a failing input as a regression case (named by its hash: saving twice is harmless). */
export function saveRegression(data: Buffer, why: string): string {
  mkdirSync(REGRESSION_DIR, { recursive: true });
  const name = `${createHash('sha1').update(data).digest('hex').slice(0, 16)}.sip`;
  writeFileSync(join(REGRESSION_DIR, name), data);
  writeFileSync(join(REGRESSION_DIR, `${name}.txt`), `${why}\n`);
  return name;
}
