// Semantic checks a proxy must make before acting on a message (RFC 3261 16.3, RFC 4475 3.1.2, 3.3).
import { isSipProxyError } from '../errors.js';
import { SINGLE_VALUE_HEADERS } from './header-names.js';
import type { SipMessage } from './message.js';
import { parseNameAddr } from './name-addr.js';
import type { Defect } from './parser.js';
import { countOfCommas, restAfterFirst } from './split.js';
import { parseVia } from './via.js';

const CSEQ_RE = /^([0-9]{1,10})[ \t]+([A-Za-z0-9\-.!%*_+`'~]+)$/;
const MAX_CSEQ = 2 ** 31 - 1; // RFC 3261 8.1.1.5: less than 2**31
const REQUIRED: readonly string[] = ['via', 'to', 'from', 'call-id', 'cseq'];

// One bit per required and per single-value header name: one pass over the header lines finds the
// missing ones and the duplicates without a Map or a count per name.
const BITS: ReadonlyMap<string, number> = new Map([...new Set([...REQUIRED, ...SINGLE_VALUE_HEADERS])].map((n, i) => [n, 1 << i]));
const REQUIRED_MASK = REQUIRED.reduce((m, n) => m | BITS.get(n)!, 0);
const SINGLE_MASK = [...SINGLE_VALUE_HEADERS].reduce((m, n) => m | BITS.get(n)!, 0);

interface Census { present: number; duplicated: number }

function census(msg: SipMessage): Census {
  let present = 0;
  let duplicated = 0;
  for (let i = 0, size = msg.size; i < size; i++) {
    const bit = BITS.get(msg.nameAt(i));
    if (bit === undefined) continue;
    if ((present & bit) !== 0) duplicated |= bit;
    present |= bit;
  }
  return { present, duplicated: duplicated & SINGLE_MASK };
}

/** The first single-value header, in order of first appearance, that came more than once. */
function firstDuplicated(msg: SipMessage, duplicated: number): string {
  for (let i = 0, size = msg.size; i < size; i++) {
    const name = msg.nameAt(i);
    if ((duplicated & (BITS.get(name) ?? 0)) !== 0) return name;
  }
  return '';
}

export function checkRequest(msg: SipMessage): Defect | undefined {
  const { present, duplicated } = census(msg);
  if ((present & REQUIRED_MASK) !== REQUIRED_MASK) {
    for (const name of REQUIRED) if ((present & BITS.get(name)!) === 0) return bad(`Missing ${name} Header`);
  }
  // `Via:` or `Route:` with an empty value is present but names no hop (found by the fuzzer). Via
  // is present by now, so the message's own count serves (it keeps it: the core asks again)
  if (msg.valueCount('via') === 0) return bad('Empty via Header');
  if (valueCount(msg, 'route') === 0) return bad('Empty route Header');
  if (duplicated !== 0) return bad(`Duplicate ${firstDuplicated(msg, duplicated)} Header`);
  const cseq = CSEQ_RE.exec(msg.get('cseq')!);
  if (cseq === null || Number(cseq[1]) > MAX_CSEQ) return bad('Bad CSeq');
  if (cseq[2] !== msg.method) return bad('CSeq Method Mismatch');
  const mf = msg.get('max-forwards');
  if (mf !== undefined && !/^[0-9]{1,10}$/.test(mf)) return bad('Bad Max-Forwards');
  try {
    parseVias(msg);
    parseNameAddr(msg.get('from')!);
    parseNameAddr(msg.get('to')!);
    msg.requestUri();
    return undefined;
  } catch (err) {
    return defectOf(err);
  }
}

/** A response we cannot trust is dropped (there is no one to answer it). */
export function checkResponse(msg: SipMessage): boolean {
  const { present, duplicated } = census(msg);
  if ((present & REQUIRED_MASK) !== REQUIRED_MASK || duplicated !== 0) return false;
  if (msg.valueCount('via') === 0) return false;
  const cseq = CSEQ_RE.exec(msg.get('cseq')!);
  if (cseq === null || Number(cseq[1]) > MAX_CSEQ) return false;
  msg.method = cseq[2]!;
  try {
    parseVias(msg);
    return true;
  } catch (err) {
    defectOf(err);
    return false;
  }
}

/**
 * Values of a list header (getAll(name).length) without building the list: -1 when there is no
 * such line, 0 when its lines are empty.
 */
function valueCount(msg: SipMessage, name: string): number {
  let n = -1;
  for (let i = 0, size = msg.size; i < size; i++) {
    if (msg.nameAt(i) !== name) continue;
    if (n === -1) n = 0;
    n += countOfCommas(msg.valueAt(i));
  }
  return n;
}

/** Every Via value parses (throws the parse error); the top one through topVia(), which keeps it for the core. */
function parseVias(msg: SipMessage): void {
  msg.topVia();
  let first = true;
  for (let i = 0, size = msg.size; i < size; i++) {
    if (msg.nameAt(i) !== 'via') continue;
    const line = msg.valueAt(i);
    for (let cut = restAfterFirst(line); cut !== undefined; cut = cut[1] === -1 ? undefined : restAfterFirst(line, cut[1])) {
      if (first) first = false; // the top one: topVia() above
      else parseVia(cut[0]);
    }
  }
}

/**
 * Enough of a request survives to address a response to it. A response travels by its top Via
 * alone (RFC 3261 18.2.2), so that is all we need: To, From, Call-ID and CSeq are copied when
 * present (8.2.6.2). RFC 4475 3.3.1 (insuf.dat: no To, From or Call-ID) asks for a 400 here.
 */
export function canAnswer(msg: SipMessage): boolean {
  if (!msg.isRequest || msg.method === 'ACK') return false;
  const top = msg.firstValue('via');
  return top !== undefined && tryParse(() => parseVia(top)) === undefined;
}

function bad(reason: string): Defect {
  return { status: 400, reason };
}

function tryParse(fn: () => void): Defect | undefined {
  try {
    fn();
    return undefined;
  } catch (err) {
    return defectOf(err);
  }
}

/** A parse error of a header value as a 400 (or its own status); anything else is a bug and goes on. */
function defectOf(err: unknown): Defect {
  if (isSipProxyError(err)) return { status: err.status ?? 400, reason: 'Bad Request' };
  throw err;
}
