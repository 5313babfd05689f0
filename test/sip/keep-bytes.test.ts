// SipMessage.keepBytes: a message read in place from a larger buffer (a shard's batch) gets one
// copy of its bytes, which its body then lives in too; a message that owns its buffer, or was kept
// already, is left as it is; an empty body view lets go of its buffer.
import t from 'tap';
import { parseMessage } from '../../lib/sip/parser.js';

const SDP = 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n';
const INVITE = [
  'INVITE sip:bob@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-k1', 'Max-Forwards: 70',
  'From: <sip:alice@127.0.0.1>;tag=a', 'To: <sip:bob@127.0.0.1>', 'Call-ID: keep-1', 'CSeq: 1 INVITE',
  'Content-Type: application/sdp', `Content-Length: ${SDP.length}`, '', SDP,
].join('\r\n');
const BYE = ['BYE sip:bob@127.0.0.1 SIP/2.0', 'Via: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-k2', 'Max-Forwards: 70',
  'From: <sip:alice@127.0.0.1>;tag=a', 'To: <sip:bob@127.0.0.1>;tag=b', 'Call-ID: keep-1', 'CSeq: 2 BYE', 'Content-Length: 0', '', ''].join('\r\n');

/** The message at an offset inside a bigger buffer, as a shard reads a run. */
function inRun(text: string): { run: ArrayBuffer; view: Buffer } {
  const run = new ArrayBuffer(text.length + 64);
  const view = Buffer.from(run, 32, text.length);
  view.write(text, 'latin1');
  return { run, view };
}

t.test('a message inside a run: one copy, the body in it, the same bytes out', async (t) => {
  const { run, view } = inRun(INVITE);
  const msg = parseMessage(view).message;
  const before = msg.toBuffer().toString('latin1');
  t.equal(msg.body.buffer, run, 'parsed in place');
  msg.keepBytes();
  t.not(msg.body.buffer, run, 'the body no longer in the run');
  t.equal(msg.body.buffer.byteLength, INVITE.length, 'but in the copy of the whole message, not a copy of its own');
  t.equal(msg.body.toString('latin1'), SDP);
  new Uint8Array(run).fill(0x58); // the run is reused or freed: the kept message must not care
  t.equal(msg.toBuffer().toString('latin1'), before, 'serializes from its own bytes');
  t.equal(msg.callId, 'keep-1');
  const body = msg.body;
  msg.keepBytes();
  t.equal(msg.body, body, 'kept twice: nothing copied again');
  t.equal(msg.clone().body, body, 'a clone made afterwards shares the copy');
});

t.test('a message that owns its buffer is left alone', async (t) => {
  const own = Buffer.from(new ArrayBuffer(INVITE.length));
  own.write(INVITE, 'latin1');
  const msg = parseMessage(own).message;
  const body = msg.body;
  msg.keepBytes();
  t.equal(msg.body, body);
  t.equal(msg.body.buffer, own.buffer);
});

t.test('no body: the empty view into the run is dropped', async (t) => {
  const { run, view } = inRun(BYE);
  const msg = parseMessage(view).message;
  msg.keepBytes();
  t.equal(msg.body.byteLength, 0);
  t.not(msg.body.buffer, run);
  new Uint8Array(run).fill(0x58);
  t.match(msg.toBuffer().toString('latin1'), /^BYE sip:bob@127\.0\.0\.1 SIP\/2\.0\r\nVia: SIP\/2\.0\/UDP 127\.0\.0\.1:5070;branch=z9hG4bK-k2\r\n/);
});
