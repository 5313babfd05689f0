// CSeq header values (RFC 3261 20.16): the sequence number and the method. Read leniently here
// (validate.ts judges the value); the usual `<digits> <METHOD>` is read straight from the received
// bytes, anything else from the value's text.
import { literalOrSlice } from './byte-prefix.js';
import { knownMethod } from './methods.js';

export interface CSeq { seq: number; method: string }

/**
 * The value as text: the number before the first SP or HTAB (`Number` of it, so NaN when it is
 * not one) and the rest trimmed.
 */
export function parseCSeq(v: string): CSeq {
  let sp = v.indexOf(' ');
  const tab = v.indexOf('\t');
  if (tab !== -1 && (sp === -1 || tab < sp)) sp = tab;
  return { seq: Number(v.slice(0, sp)), method: v.slice(sp).trim() };
}

/** More digits than this take the text path (Number of up to 15 digits is exact, as the sum below). */
const MAX_DIGITS = 15;

/**
 * The usual value in `buf[a, b)` (SP/HTAB around it already left out; `text` is `buf` as latin1):
 * 1 to 15 digits, SP/HTAB, a method of token characters to the end. The same answer parseCSeq gives
 * for its text; undefined for any other shape, which the caller reads with parseCSeq.
 */
export function cseqAt(buf: Uint8Array, text: string, a: number, b: number): CSeq | undefined {
  let seq = 0;
  let i = a;
  for (; i < b; i++) {
    const c = buf[i]! - 0x30;
    if (c < 0 || c > 9) break;
    seq = seq * 10 + c;
  }
  if (i === a || i - a > MAX_DIGITS) return undefined;
  const sp = i;
  while (i < b && (buf[i] === 0x20 || buf[i] === 0x09)) i++;
  if (i === sp || i === b) return undefined;
  const m = i;
  for (; i < b; i++) if (!TOKEN[buf[i]!]) return undefined;
  return { seq, method: literalOrSlice(knownMethod, buf, text, m, b) };
}

/** RFC 3261 25.1 token characters: alphanumerics and -.!%*_+`'~ */
const TOKEN = new Uint8Array(256);
for (const c of "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-.!%*_+`'~") TOKEN[c.charCodeAt(0)] = 1;
