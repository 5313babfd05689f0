// Registrar state must not keep received messages alive. Strings cut from a message are V8 sliced
// strings of its whole text (lib/sip/detach.ts): a binding, an nc counter or a cache key held as
// such a slice pins the entire REGISTER for as long as the entry lives. Here every REGISTER carries
// a large padding header, so a pinned message shows as tens of KB per registration, and the heap
// growth per registration (after the transactions have ended and a full GC) must stay far below that.
import t from 'tap';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { detach } from '../../lib/sip/detach.js';
import { answerChallenge } from '../../lib/sip/digest.js';
import { ShardHarness } from '../helpers/shard-harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const PAD = 64 * 1024;
const USERS = 240;
const WARMUP = 40;
const COPIES = 200;
const PHONE = { transport: 'udp' as const, address: '192.0.2.10', port: 5070 };
/** 13+ characters, as are the usernames and Call-IDs: V8 copies shorter slices anyway and would hide a defect */
const DOMAIN = 'held-strings.example.net';

const userName = (i: number): string => `held-user-${String(i).padStart(6, '0')}`;

function register(i: number, cseq: number, auth: string | undefined): string {
  const u = userName(i);
  const lines = [
    `REGISTER sip:${DOMAIN} SIP/2.0`,
    `Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bK-held-${i}-${cseq};rport`,
    'Max-Forwards: 70',
    `From: <sip:${u}@${DOMAIN}>;tag=from-tag-${i}`,
    `To: <sip:${u}@${DOMAIN}>`,
    `Call-ID: held-strings-call-${i}@192.0.2.10`,
    `CSeq: ${cseq} REGISTER`,
    `Contact: <sip:${u}@192.0.2.10:5070;transport=udp;ob>;+sip.instance="<urn:uuid:00000000-0000-0000-0000-${String(i).padStart(12, '0')}>";reg-id=1`,
    `Path: <sip:edge-proxy-${i}.example.net;lr>`,
    `User-Agent: held-strings-phone/1.0 (${u})`,
    ...(auth === undefined ? [] : [`Authorization: ${auth}`]),
    `X-Pad: ${'p'.repeat(PAD)}`,
    'Expires: 3600',
    'Content-Length: 0',
    '', '',
  ];
  return lines.join('\n');
}

function registerOnce(h: ShardHarness, i: number): void {
  h.receive(register(i, 1, undefined), PHONE);
  const challenge = h.take()[0]?.msg;
  if (challenge?.status !== 401) throw new Error(`expected 401, got ${challenge?.status}`);
  // the MD5 challenge: a fresh string made here, nothing of it is shard state
  const value = challenge.getAll('www-authenticate').find((v) => v.includes('MD5'))!;
  const auth = answerChallenge(value, { username: userName(i), password: `pw-${i}`, method: 'REGISTER', uri: `sip:${DOMAIN}` });
  h.receive(register(i, 2, auth), PHONE);
  const ok = h.take()[0]?.msg;
  if (ok?.status !== 200) throw new Error(`expected 200, got ${ok?.status}`);
}

function heapAfterGc(): number {
  for (let i = 0; i < 3; i++) gc();
  return process.memoryUsage().heapUsed;
}

t.test('detach() copies: what it returns lets the message go', async (t) => {
  const kept: string[] = [];
  const sliced: string[] = [];
  const make = (i: number): string => `Call-ID: detached-call-id-${i}@192.0.2.10\r\nX-Pad: ${'q'.repeat(PAD)}${i}\r\n`;
  const before = heapAfterGc();
  for (let i = 0; i < COPIES; i++) kept.push(detach(make(i).slice(9, 40)));
  const perCopy = (heapAfterGc() - before) / COPIES;
  // the control: plain slices do keep their messages, so the measure can see a held message
  for (let i = 0; i < COPIES; i++) sliced.push(make(i).slice(9, 40));
  const perSlice = (heapAfterGc() - before) / COPIES - perCopy;
  t.equal(kept[7], make(7).slice(9, 40), 'same text');
  t.ok(perCopy < PAD / 4, `${Math.round(perCopy)} bytes per detached copy`);
  t.ok(perSlice > PAD / 2, `${Math.round(perSlice)} bytes per plain slice`);
  t.equal(kept.length + sliced.length, 2 * COPIES);
});

t.test('bindings, nc counters and auth caches hold no received message text', async (t) => {
  const users = Array.from({ length: USERS + WARMUP }, (_, i) => ({ username: userName(i), password: `pw-${i}` }));
  const h = new ShardHarness({ domains: [DOMAIN], users, auth: { realm: 'sipshard', register: true, invite: true, algorithms: ['SHA-256', 'MD5'], nonceTtlSeconds: 300 } });
  // warm up: lazily built tables, compiled code, the first generation of every map
  for (let i = USERS; i < USERS + WARMUP; i++) registerOnce(h, i);
  h.advance(40_000); // Timer J (64*T1) ends the REGISTER transactions, which may hold the messages
  h.posted = [];
  const before = heapAfterGc();

  for (let i = 0; i < USERS; i++) registerOnce(h, i);
  h.advance(40_000);
  const bindUpdates = h.posted.filter((p) => p.t === 'bind').length;
  h.posted = [];
  const perRegistration = (heapAfterGc() - before) / USERS;

  t.equal(bindUpdates, USERS, 'every registration stored a binding');
  t.equal(h.runtime.location.size().bindings, USERS + WARMUP, 'the bindings are still held');
  // What a registration really keeps (binding, nc counter, recent nonce) is ~2-4 KB here whatever
  // the padding (heapUsed wanders by a few hundred KB); one pinned REGISTER alone is 64 KB.
  t.ok(perRegistration < PAD / 4, `heap growth per registration ${Math.round(perRegistration)} bytes (< ${PAD / 4}; a held message is ${PAD})`);
  h.runtime.stop();
});
