// Call-Info in the RFC 3261 form and in the forwarding-notice form of seed point 4, which has no
// <uri> and separates its parameters with commas: our parser reads both, our writer writes the
// notice byte for byte, and a 181 carrying it passes through the proxy unchanged.
import t from 'tap';
import { formatForwardingCallInfo, forwardingNotice, parseCallInfo } from '../../lib/sip/call-info.js';
import { parseMessage } from '../../lib/sip/parser.js';
import { answer, CALLEE, CALLER, invite, ShardHarness } from '../helpers/shard-harness.js';

const NOTICE = 'purpose=forwarding, username="userb", contact="userc"';

t.test('the forwarding notice is written byte for byte', async (t) => {
  t.equal(formatForwardingCallInfo('userb', 'userc'), NOTICE);
  t.equal(formatForwardingCallInfo('a "b"', 'c'), 'purpose=forwarding, username="a \\"b\\"", contact="c"', 'quotes escaped');
});

t.test('the notice parses as one entry, not three', async (t) => {
  const entries = parseCallInfo(NOTICE);
  t.equal(entries.length, 1);
  t.same(forwardingNotice(entries), { username: 'userb', contact: 'userc' });
  const round = forwardingNotice(parseCallInfo(formatForwardingCallInfo('a "b", c', 'x')));
  t.same(round, { username: 'a "b", c', contact: 'x' }, 'quoted commas and quotes survive');
});

t.test('RFC 3261 20.9 entries parse, also next to a notice', async (t) => {
  const entries = parseCallInfo(['<http://wwww.example.com/alice/photo.jpg> ;purpose=icon, <http://www.example.com/alice/> ;purpose=info', NOTICE]);
  t.same(entries.map((e) => [e.uri, e.params.get('purpose')]), [
    ['http://wwww.example.com/alice/photo.jpg', 'icon'], ['http://www.example.com/alice/', 'info'], [undefined, 'forwarding'],
  ]);
  t.same(parseCallInfo('<broken'), [], 'unreadable text is skipped, never thrown');
});

t.test('a message with the notice parses, and the getAll split can be read back', async (t) => {
  const text = `SIP/2.0 181 Call Is Being Forwarded\r\nVia: SIP/2.0/UDP 127.0.0.1:5070;branch=z9hG4bK-x\r\nFrom: <sip:a@b>;tag=1\r\nTo: <sip:c@d>;tag=2\r\nCall-ID: x\r\nCSeq: 1 INVITE\r\nCall-Info: ${NOTICE}\r\nContent-Length: 0\r\n\r\n`;
  const { message, defect } = parseMessage(Buffer.from(text));
  t.equal(defect, undefined);
  t.same(forwardingNotice(parseCallInfo(message.getAll('call-info'))), { username: 'userb', contact: 'userc' });
});

t.test("a downstream 181 with the notice reaches the caller with the header unchanged", async (t) => {
  const h = new ShardHarness({ routes: [{ prefix: '9', destination: 'sip:127.0.0.1:5080', strip: 0, prepend: '' }] });
  t.teardown(() => h.close());
  h.receive(invite({ callId: 'ci1', branch: 'z9hG4bK-ci1' }), CALLER);
  const fwd = h.take().find((s) => s.msg.isRequest)!;
  h.receive(answer(fwd.msg, 181, 'Call Is Being Forwarded', 'tt', [`Call-Info: ${NOTICE}`]), CALLEE);
  const up = h.take().find((s) => s.msg.status === 181)!;
  t.match(up.raw, `\r\nCall-Info: ${NOTICE}\r\n`);
});
