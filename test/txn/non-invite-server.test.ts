// Non-INVITE server transaction (RFC 3261 17.2.2): a retransmitted request gets the last response
// again, byte for byte, for the whole of Timer J on UDP, whether that response was a provisional or
// the final; nothing once it has ended; on TCP it ends with its final response.
import t from 'tap';
import { NonInviteServerTxn } from '../../lib/txn/non-invite-server.js';
import { ManualClock, TimerWheel } from '../../lib/txn/timers.js';
import type { SendTarget } from '../../lib/transport/types.js';

function txn(transport: 'udp' | 'tcp'): { tx: NonInviteServerTxn; sent: Buffer[]; advance: (ms: number) => void; ended: () => boolean } {
  const clock = new ManualClock(1_000_000);
  const timers = new TimerWheel(clock, 10, false);
  const sent: Buffer[] = [];
  let ended = false;
  const source: SendTarget = { transport, address: '127.0.0.9', port: 5070 };
  const tx = new NonInviteServerTxn({ timers, times: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 }, send: (_to, data) => sent.push(Buffer.from(data)) },
    'key', source, () => { ended = true; });
  return { tx, sent, advance: (ms) => { clock.t += ms; timers.advance(); }, ended: () => ended };
}

/** Every byte value, in a response-shaped frame: a UTF-8 display name, a NUL, 0xff. */
const FINAL = Buffer.concat([Buffer.from('SIP/2.0 200 OK\r\nTo: "J\u00f6rg \u4e2d" <sip:a@b>;tag=1\r\nX: ', 'utf8'),
  Buffer.from(Array.from({ length: 256 }, (_, i) => i)), Buffer.from('\r\nContent-Length: 0\r\n\r\n')]);

t.test('UDP: the final response comes back byte for byte until Timer J, then nothing', async (t) => {
  const { tx, sent, advance, ended } = txn('udp');
  const trying = Buffer.from('SIP/2.0 100 Trying\r\nContent-Length: 0\r\n\r\n');
  tx.respond(100, trying);
  tx.onRetransmission();
  t.same(sent.map((b) => b.toString('latin1')), [trying, trying].map((b) => b.toString('latin1')), 'the provisional while pending');
  sent.length = 0;
  tx.respond(200, FINAL);
  tx.onRetransmission();
  advance(31_000);
  tx.onRetransmission();
  t.equal(sent.length, 3, 'sent once, then once per retransmission');
  for (const b of sent) t.ok(b.equals(FINAL), 'the same bytes, every one of the 256 values included');
  t.equal(tx.state, 'completed');
  tx.respond(500, Buffer.from('SIP/2.0 500 X\r\n\r\n'));
  t.equal(sent.length, 3, 'a second final is not sent');
  advance(1_100);
  t.ok(ended(), 'Timer J (64*T1) ended it');
  tx.onRetransmission();
  t.equal(sent.length, 3, 'nothing after it ended');
});

t.test('TCP: no Timer J, the transaction ends with its final response', async (t) => {
  const { tx, sent, advance, ended } = txn('tcp');
  tx.respond(200, FINAL);
  advance(10);
  t.ok(ended(), 'ended at once');
  tx.onRetransmission();
  t.equal(sent.length, 1);
});
