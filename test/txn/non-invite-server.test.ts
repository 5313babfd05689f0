// Non-INVITE server transaction (RFC 3261 17.2.2): a retransmitted request gets the last response
// again, byte for byte, for the whole of Timer J on UDP, whether that response was a provisional or
// the final; nothing once it has ended; on TCP it ends with its final response. With a store of
// Completed transactions, the final response over UDP is handed to it and the object ends at once.
import t from 'tap';
import { CompletedTxnStore } from '../../lib/txn/completed-store.js';
import { NonInviteServerTxn } from '../../lib/txn/non-invite-server.js';
import { ManualClock, TimerWheel } from '../../lib/txn/timers.js';
import type { SendTarget } from '../../lib/transport/types.js';

interface Harness { tx: NonInviteServerTxn; sent: Buffer[]; advance: (ms: number) => void; ended: () => boolean; kept: () => boolean; store: CompletedTxnStore }

function txn(transport: 'udp' | 'tcp', withStore = false): Harness {
  const clock = new ManualClock(1_000_000);
  const timers = new TimerWheel(clock, 10, false);
  const store = new CompletedTxnStore(timers, () => undefined);
  const sent: Buffer[] = [];
  let ended = false;
  let kept = false;
  const source: SendTarget = { transport, address: '127.0.0.9', port: 5070 };
  const tx = new NonInviteServerTxn({ timers, times: { t1Ms: 500, t2Ms: 4000, t4Ms: 5000 }, send: (_to, data) => sent.push(Buffer.from(data)) },
    'key', source, (_t, k) => { ended = true; kept = k; }, withStore ? store : undefined);
  tx.callId = 'call-1';
  return { tx, sent, advance: (ms) => { clock.t += ms; timers.advance(); }, ended: () => ended, kept: () => kept, store };
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

t.test('UDP with a store: the final response goes to it and the transaction ends at once', async (t) => {
  const { tx, sent, advance, ended, kept, store } = txn('udp', true);
  tx.respond(200, FINAL);
  t.equal(sent.length, 1, 'sent');
  t.ok(ended() && kept(), 'ended, handed off');
  t.equal(tx.state, 'terminated');
  t.ok(store.response('key')?.equals(FINAL), 'the store answers a retransmission with the same bytes');
  t.same(store.callIds(), ['call-1']);
  advance(31_990);
  t.equal(store.size, 1);
  advance(20);
  t.equal(store.size, 0, 'until Timer J');
});

t.test('UDP with a store, owner still holding the transaction: kept for what is left of Timer J once handed off', async (t) => {
  const { tx, advance, ended, store } = txn('udp', true);
  tx.owner = {};
  tx.respond(200, FINAL);
  t.notOk(ended(), 'not handed off while its owner holds it');
  advance(20_000);
  tx.owner = undefined;
  t.equal(tx.handOff(), true);
  t.ok(ended());
  advance(11_990);
  t.equal(store.size, 1);
  advance(20);
  t.equal(store.size, 0, '32 s after the final response, not after the hand-off');
  t.equal(tx.handOff(), false, 'once only');
});

t.test('TCP with a store: nothing kept (no Timer J over a reliable transport)', async (t) => {
  const { tx, advance, ended, kept, store } = txn('tcp', true);
  tx.respond(200, FINAL);
  t.equal(tx.handOff(), false);
  advance(10);
  t.ok(ended());
  t.notOk(kept());
  t.equal(store.size, 0);
});
