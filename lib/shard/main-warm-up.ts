// JIT warm-up of the main thread's per-message code before the sockets carry traffic. Cold, the
// stateless 401 costs 60-100 us a REGISTER for its first ~1,600 calls and ~10 us once V8 has
// optimized it (measured in-process); a proxy (re)started under 8,000 REGISTER/s filled its 4 MB
// receive buffer in that time and shed with 503s. Only pure functions run here: no source guard,
// no shard, no socket, no state a peer could observe (a challenge's To tag counter only moves on).
import type { StatelessChallenger } from '../registrar/stateless-challenge.js';
import type { SendTarget } from '../transport/types.js';
import { peekCallId } from './callid-peek.js';
import { shardFor } from './hash.js';
import { isInitialInvite, isInvite, isNewWork } from './overload.js';

export interface WarmUpReport {
  rounds: number;
  /** made-up REGISTERs answered with a 401: each round's, or the warm-up missed the challenge path */
  challenged: number;
  ms: number;
}

/** A REGISTER without credentials for `domain` as a phone sends it (challengeable). */
function register(domain: string, i: number): Buffer {
  const user = `warmup${i % 97}`;
  return Buffer.from(
    `REGISTER sip:${domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-warm${i}\r\n` +
    `From: <sip:${user}@${domain}>;tag=w${i}\r\nTo: <sip:${user}@${domain}>\r\nCall-ID: warm-${i}@127.0.0.2\r\n` +
    `CSeq: ${i + 1} REGISTER\r\nContact: <sip:${user}@127.0.0.2:5060>\r\nMax-Forwards: 70\r\nExpires: 3600\r\nContent-Length: 0\r\n\r\n`,
    'latin1',
  );
}

function invite(domain: string, i: number, toTag: string): Buffer {
  return Buffer.from(
    `INVITE sip:9${i}@${domain} SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-warm${i}\r\n` +
    `From: <sip:a@${domain}>;tag=w${i}\r\nTo: <sip:9${i}@${domain}>${toTag}\r\nCall-ID: warm-${i}@127.0.0.2\r\n` +
    `CSeq: 1 INVITE\r\nContact: <sip:a@127.0.0.2:5060>\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n`,
    'latin1',
  );
}

function response(i: number): Buffer {
  return Buffer.from(
    `SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP 127.0.0.2:5060;branch=z9hG4bK-warm${i}\r\nFrom: <sip:a@x>;tag=w${i}\r\n` +
    `To: <sip:b@x>;tag=r${i}\r\nCall-ID: warm-${i}@127.0.0.2\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n`,
    'latin1',
  );
}

/**
 * Run the main thread's per-message checks (and the stateless challenge, when on) on made-up
 * messages until V8 has had `rounds` calls of each to optimize, or `maxMs` has passed.
 */
export function warmUpMainPath(opts: { domain: string; challenger?: StatelessChallenger; rounds?: number; maxMs?: number }): WarmUpReport {
  const rounds = opts.rounds ?? 4000;
  const deadline = Date.now() + (opts.maxMs ?? 500);
  const from: SendTarget = { transport: 'udp', address: '127.0.0.2', port: 5060 };
  const samples = [register(opts.domain, 0), invite(opts.domain, 1, ''), invite(opts.domain, 2, ';tag=x'), response(3)];
  let sink = 0; // results are used, so nothing is optimized away
  const t0 = Date.now();
  let i = 0;
  let challenged = 0;
  for (; i < rounds && (i % 256 !== 0 || Date.now() < deadline); i++) {
    for (const data of samples) {
      if (isNewWork(data)) sink++;
      if (isInvite(data) && isInitialInvite(data)) sink++;
      sink += shardFor(peekCallId(data) ?? '', 2);
    }
    if (opts.challenger?.challenge(register(opts.domain, i), from) !== undefined) challenged++;
  }
  if (sink < 0) throw new Error('unreachable');
  return { rounds: i, challenged, ms: Date.now() - t0 };
}
