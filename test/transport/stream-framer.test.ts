import t from 'tap';
import type { SipProxyError } from '../../lib/errors.js';
import { StreamFramer } from '../../lib/transport/stream-framer.js';

interface Captured {
  framer: StreamFramer;
  messages: Buffer[];
  keepAlives: number;
  errors: SipProxyError[];
}

function capture(maxMessageBytes = 4096): Captured {
  const c: Captured = { messages: [], keepAlives: 0, errors: [] } as unknown as Captured;
  c.framer = new StreamFramer({
    maxMessageBytes,
    onMessage: (buf) => c.messages.push(Buffer.from(buf)),
    onKeepAlive: () => c.keepAlives++,
    onError: (err) => c.errors.push(err),
  });
  return c;
}

const body = Buffer.from([0x00, 0x0d, 0x0a, 0x0d, 0x0a, 0xff, 0x80, 0x0a, 0x0a, 0x01]); // contains CRLFCRLF
const m1 = Buffer.concat([
  Buffer.from(`INVITE sip:bob@b SIP/2.0\r\nCall-ID: one\r\nContent-Type: application/octet-stream\r\nContent-Length: ${body.length}\r\n\r\n`),
  body,
]);
const m2 = Buffer.from('SIP/2.0 200 OK\r\ni: two\r\nl:0\r\n\r\n');
const stream = Buffer.concat([m1, m2]);

t.test('two messages in one chunk, binary body intact', async (t) => {
  const c = capture();
  c.framer.push(stream);
  t.same(c.messages, [m1, m2]);
  t.equal(c.errors.length, 0);
  t.equal(c.framer.bufferedBytes, 0);
});

t.test('every split point of a two-message stream', async (t) => {
  for (let i = 0; i <= stream.length; i++) {
    const c = capture();
    c.framer.push(stream.subarray(0, i));
    c.framer.push(stream.subarray(i));
    if (c.messages.length !== 2 || !c.messages[0].equals(m1) || !c.messages[1].equals(m2) || c.errors.length) {
      t.fail(`split at ${i}`);
    }
  }
  t.pass('all splits framed');
});

t.test('byte-by-byte and three-way splits', async (t) => {
  const c = capture();
  for (let i = 0; i < stream.length; i++) c.framer.push(stream.subarray(i, i + 1));
  t.same(c.messages, [m1, m2]);
  let bad = 0;
  for (let i = 1; i < stream.length; i += 3) {
    for (let j = i; j < stream.length; j += 5) {
      const d = capture();
      d.framer.push(stream.subarray(0, i));
      d.framer.push(stream.subarray(i, j));
      d.framer.push(stream.subarray(j));
      if (d.messages.length !== 2 || !d.messages[1].equals(m2)) bad++;
    }
  }
  t.equal(bad, 0);
});

t.test('leading CRLFs skipped; double CRLF is a keep-alive ping', async (t) => {
  const c = capture();
  c.framer.push(Buffer.from('\r\n'));
  t.equal(c.keepAlives, 0, 'single CRLF (a pong) is just skipped');
  c.framer.push(Buffer.concat([m2, Buffer.from('\r\n\r\n')]));
  t.equal(c.keepAlives, 1);
  c.framer.push(Buffer.from('\r\n\r'));
  c.framer.push(Buffer.from('\n'));
  t.equal(c.keepAlives, 2, 'ping split across chunks');
  c.framer.push(Buffer.from('\r\n'));
  c.framer.push(m2);
  t.equal(c.messages.length, 2);
  t.equal(c.keepAlives, 2);
  t.equal(c.errors.length, 0);
});

t.test('bare LF line endings', async (t) => {
  const c = capture();
  const m = Buffer.from('OPTIONS sip:x SIP/2.0\nCall-ID: lf\nContent-Length: 3\n\nabc');
  c.framer.push(Buffer.concat([m, m]));
  t.same(c.messages, [m, m]);
});

t.test('missing Content-Length is a framing error, and the framer stops', async (t) => {
  const c = capture();
  c.framer.push(Buffer.from('OPTIONS sip:x SIP/2.0\r\nCall-ID: x\r\n\r\n'));
  t.equal(c.errors.length, 1);
  t.equal(c.errors[0].code, 'SIP_ERR_FRAMING');
  c.framer.push(m2);
  t.equal(c.messages.length, 0);
  t.equal(c.errors.length, 1);
});

t.test('negative or non-numeric Content-Length', async (t) => {
  for (const v of ['-1', 'abc', '1.5', '', '0x10', '12345678901']) {
    const c = capture();
    c.framer.push(Buffer.from(`OPTIONS sip:x SIP/2.0\r\nContent-Length: ${v}\r\n\r\n`));
    t.equal(c.errors[0]?.code, 'SIP_ERR_FRAMING', `Content-Length "${v}"`);
  }
});

t.test('oversize header section and oversize message', async (t) => {
  const a = capture(100);
  a.framer.push(Buffer.from('OPTIONS sip:x SIP/2.0\r\n'));
  a.framer.push(Buffer.from(`X-Long: ${'a'.repeat(100)}\r\n`));
  t.equal(a.errors[0]?.code, 'SIP_ERR_TOO_LARGE', 'header section never ends within the limit');

  const b = capture(100);
  b.framer.push(Buffer.from('OPTIONS sip:x SIP/2.0\r\nContent-Length: 80\r\n\r\n'));
  t.equal(b.errors[0]?.code, 'SIP_ERR_TOO_LARGE', 'declared body exceeds the limit');

  const c = capture(m2.length);
  c.framer.push(m2);
  t.same(c.messages, [m2], 'exactly at the limit is fine');
});

t.test('many messages per chunk', async (t) => {
  const c = capture();
  const n = 500;
  c.framer.push(Buffer.concat(Array.from({ length: n }, () => m1)));
  t.equal(c.messages.length, n);
  t.ok(c.messages.every((m) => m.equals(m1)));
});

t.test('large split message is scanned linearly', async (t) => {
  const c = capture(2_000_000);
  const headers = `INVITE sip:x SIP/2.0\r\n${'X-Pad: yyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyyy\r\n'.repeat(20000)}Content-Length: 5\r\n\r\nhello`;
  const big = Buffer.from(headers);
  const start = process.hrtime.bigint();
  for (let i = 0; i < big.length; i += 7) c.framer.push(big.subarray(i, i + 7));
  const ms = Number(process.hrtime.bigint() - start) / 1e6;
  t.equal(c.messages.length, 1);
  t.ok(c.messages[0].equals(big));
  t.ok(ms < 2000, `took ${ms.toFixed(1)} ms`);
});
