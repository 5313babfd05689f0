// Semantic checks a proxy must make before acting on a message (RFC 3261 16.3, RFC 4475 3.1.2, 3.3).
import { isSipProxyError } from '../errors.js';
import { SINGLE_VALUE_HEADERS } from './header-names.js';
import type { SipMessage } from './message.js';
import { parseNameAddr } from './name-addr.js';
import type { Defect } from './parser.js';
import { parseUri } from './uri.js';
import { parseVia } from './via.js';

const CSEQ_RE = /^([0-9]{1,10})[ \t]+([A-Za-z0-9\-.!%*_+`'~]+)$/;
const MAX_CSEQ = 2 ** 31 - 1; // RFC 3261 8.1.1.5: less than 2**31
const REQUIRED: ReadonlySet<string> = new Set(['via', 'to', 'from', 'call-id', 'cseq']);

export function checkRequest(msg: SipMessage): Defect | undefined {
  // one pass over the header lines: presence of the required ones, duplicates of single-value ones
  const seen = new Map<string, number>();
  for (let i = 0, size = msg.size; i < size; i++) {
    const name = msg.nameAt(i);
    if (REQUIRED.has(name) || SINGLE_VALUE_HEADERS.has(name)) seen.set(name, (seen.get(name) ?? 0) + 1);
  }
  for (const name of REQUIRED) if (!seen.has(name)) return bad(`Missing ${name} Header`);
  // `Via:` or `Route:` with an empty value is present but names no hop (found by the fuzzer)
  for (const name of ['via', 'route']) {
    if (msg.has(name) && msg.getAll(name).length === 0) return bad(`Empty ${name} Header`);
  }
  for (const [name, n] of seen) if (n > 1 && SINGLE_VALUE_HEADERS.has(name)) return bad(`Duplicate ${name} Header`);
  const cseq = CSEQ_RE.exec(msg.get('cseq')!);
  if (cseq === null || Number(cseq[1]) > MAX_CSEQ) return bad('Bad CSeq');
  if (cseq[2] !== msg.method) return bad('CSeq Method Mismatch');
  const mf = msg.get('max-forwards');
  if (mf !== undefined && !/^[0-9]{1,10}$/.test(mf)) return bad('Bad Max-Forwards');
  return tryParse(() => {
    for (const v of msg.getAll('via')) parseVia(v);
    parseNameAddr(msg.get('from')!);
    parseNameAddr(msg.get('to')!);
    parseUri(msg.uri);
  });
}

/** A response we cannot trust is dropped (there is no one to answer it). */
export function checkResponse(msg: SipMessage): boolean {
  for (const name of ['via', 'to', 'from', 'call-id', 'cseq']) if (!msg.has(name)) return false;
  if (msg.getAll('via').length === 0) return false;
  for (const name of SINGLE_VALUE_HEADERS) if (msg.count(name) > 1) return false;
  const cseq = CSEQ_RE.exec(msg.get('cseq')!);
  if (cseq === null || Number(cseq[1]) > MAX_CSEQ) return false;
  msg.method = cseq[2]!;
  return tryParse(() => { for (const v of msg.getAll('via')) parseVia(v); }) === undefined;
}

/**
 * Enough of a request survives to address a response to it. A response travels by its top Via
 * alone (RFC 3261 18.2.2), so that is all we need: To, From, Call-ID and CSeq are copied when
 * present (8.2.6.2). RFC 4475 3.3.1 (insuf.dat: no To, From or Call-ID) asks for a 400 here.
 */
export function canAnswer(msg: SipMessage): boolean {
  if (!msg.isRequest || msg.method === 'ACK') return false;
  const top = msg.getAll('via')[0];
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
    if (isSipProxyError(err)) return { status: err.status ?? 400, reason: 'Bad Request' };
    throw err;
  }
}
