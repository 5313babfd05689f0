// Offset index of a received header section: one pass over the text records where each header line
// starts and ends and where its colon is, and recognises the usual header names in place.
// No string is cut at parse time; a value is sliced (and remembered) the first time it is read, and
// HeaderField objects exist only if some caller asks for the whole list.
import { tokenHeaderName } from './header-names.js';
import type { HeaderField } from './message.js';

// The usual spellings of the usual names, each with its colon, found by the line's first two bytes
// and confirmed byte by byte against small-integer arrays (cheaper than startsWith or a Uint8Array
// here): a known name also gives the colon's place, so its line needs no search for ':'. Other
// spellings (lower case, odd case, whitespace before the colon) take tokenHeaderName, which checks
// and remembers them.
interface Spelling { bytes: number[]; name: string }
const SPELLINGS: Array<Spelling[] | undefined> = new Array(128 * 128).fill(undefined);
function addSpelling(wire: string, normalized: string): void {
  const bytes = Array.from(Buffer.from(`${wire}:`, 'latin1'));
  (SPELLINGS[slot(bytes[0]!, bytes[1]!)] ??= []).push({ bytes, name: intern(normalized) });
}
/** The first two bytes (both ASCII, as in every usual spelling): the slot confirms them. */
function slot(b0: number, b1: number): number {
  return (b0 << 7) | b1;
}
/**
 * The internalized copy of a string (property keys are internalized): names the index hands out are
 * then the very strings of the literals callers search for ('call-id'), and compare by identity.
 */
function intern(s: string): string {
  return Object.keys({ [s]: true })[0]!;
}
for (const wire of ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Max-Forwards', 'Content-Type', 'Content-Length',
  'Record-Route', 'Route', 'Subject', 'User-Agent', 'Allow', 'Supported', 'Expires', 'Authorization',
  'Proxy-Authorization', 'WWW-Authenticate', 'Proxy-Authenticate', 'Authentication-Info', 'Server', 'Accept',
  'Require', 'Proxy-Require', 'Session-Expires', 'Min-SE', 'Min-Expires', 'P-Asserted-Identity', 'Privacy', 'Date',
  'Path', 'RSeq', 'RAck', 'Event', 'Allow-Events', 'Refer-To', 'Referred-By', 'Unsupported', 'Warning',
  'Accept-Encoding', 'Accept-Language', 'Content-Encoding', 'Content-Disposition', 'MIME-Version', 'Timestamp',
  'Organization', 'Priority', 'Reply-To', 'Retry-After', 'Call-Info', 'Diversion', 'History-Info', 'Call-Id',
  'Cseq', 'CSEQ', 'Www-Authenticate', 'Mime-Version', 'Rseq', 'Rack', 'Min-Se']) addSpelling(wire, tokenHeaderName(wire)!);
for (const c of 'imelcfsktvorbuajdxyn') addSpelling(c, tokenHeaderName(c)!);

/** Per header line: [lineStart, lineEnd, colon]; the colon's offset is negated on a folded line. */
const STRIDE = 3;

export class HeaderIndex {
  /** Values already sliced, by line number. */
  private values: Array<string | undefined> | undefined;

  constructor(private readonly buf: Uint8Array, readonly text: string, readonly names: readonly string[], private readonly pos: readonly number[],
    /** some line was left out: no colon, or a name that is not a token */
    readonly malformed: boolean,
    /** offset of the CRLF that ends the last header line when the scan met the empty line, else -1 */
    readonly headEnd: number,
    /** the Content-Length line: its number, NO_LINE when there is none, SEVERAL_LINES when more than one */
    readonly lengthLine: number) {}

  get size(): number {
    return this.names.length;
  }

  value(i: number): string {
    const cached = this.values?.[i];
    if (cached !== undefined) return cached;
    const p = i * STRIDE;
    const colon = this.pos[p + 2]!;
    const text = this.text;
    let v: string;
    if (colon < 0) {
      // folded (RFC 3261 7.3.1): continuation line breaks collapse to one space
      v = text.slice(-colon + 1, this.pos[p + 1]!).replace(/\r\n[ \t]+/g, ' ').trim();
    } else {
      // SP/HTAB skipped in place (read from the bytes: the text is their latin1 decoding), so the
      // usual value is one slice
      const buf = this.buf;
      let a = colon + 1;
      let b = this.pos[p + 1]!;
      while (a < b && (buf[a] === 0x20 || buf[a] === 0x09)) a++;
      while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--;
      v = text.slice(a, b);
      // other whitespace at either end still goes (as String.trim)
      if (b > a && (oddSpace(buf[a]!) || oddSpace(buf[b - 1]!))) v = v.trim();
    }
    (this.values ??= new Array<string | undefined>(this.names.length))[i] = v;
    return v;
  }

  line(i: number): string {
    const p = i * STRIDE;
    return this.text.slice(this.pos[p]!, this.pos[p + 1]!);
  }

  /** Offset in the received bytes where line `i` starts (its name). */
  lineStart(i: number): number {
    return this.pos[i * STRIDE]!;
  }

  /** Offset of the CRLF that ends line `i` (continuation lines included). */
  lineEnd(i: number): number {
    return this.pos[i * STRIDE + 1]!;
  }

  /** Writes the received bytes [start, end) into `out` at `at`; returns the offset after them. */
  copyBytes(out: Buffer, at: number, start: number, end: number): number {
    return at + COPY.call(this.buf, out, at, start, end);
  }

  fields(): HeaderField[] {
    const out: HeaderField[] = new Array(this.names.length);
    for (let i = 0; i < this.names.length; i++) out[i] = { name: this.names[i]!, value: this.value(i), line: this.line(i) };
    return out;
  }
}

/** Buffer#copy on the received Uint8Array (a TypedArray set: no call into C++) */
const COPY = Buffer.prototype.copy as (this: Uint8Array, target: Uint8Array, at: number, start: number, end: number) => number;

function oddSpace(c: number): boolean {
  return c <= 0x20 || c === 0xa0;
}

export const NO_LINE = -1;
export const SEVERAL_LINES = -2;

/**
 * Index the header lines of `text` from `start` (the first header line) up to `end` or to the empty
 * line that ends the header section, whichever comes first (so a caller that has not looked for the
 * header end yet can pass the text's length and read `headEnd`). Lines end in CRLF; a line starting
 * with SP or HTAB continues the previous one. Malformed lines (no colon, a name that is not a token)
 * are left out and reported.
 */
export function indexHeaders(buf: Uint8Array, text: string, start: number, end: number): HeaderIndex {
  // `text` is `buf` decoded as latin1: the same offsets. Line ends are found with the string's
  // indexOf (native); the few single bytes looked at are read from the buffer (a typed-array load
  // is cheaper than charCodeAt). Lines are written to scratch arrays and copied out at their final
  // size: cheaper than growing two fresh arrays push by push.
  const names = NAMES;
  const pos = POS;
  let count = 0;
  let malformed = false;
  let headEnd = -1;
  let lengthLine = NO_LINE;
  let ls = start;
  while (ls < end) {
    // an empty line: the header section ended with the CRLF before it
    if (buf[ls] === 0x0d && buf[ls + 1] === 0x0a) { headEnd = ls - 2; break; }
    // the line, with its continuation lines
    let le = crlf(buf, text, ls, end);
    let folded = false;
    while (le < end) {
      const c = buf[le + 2];
      if (c !== 0x20 && c !== 0x09) break;
      folded = true;
      le = crlf(buf, text, le + 2, end);
    }
    // the name ends at the colon
    const known = knownName(buf, ls);
    let colon: number;
    let name: string | undefined;
    if (known !== undefined) {
      colon = ls + known.bytes.length - 1;
      name = known.name;
    } else {
      colon = text.indexOf(':', ls);
      name = colon > ls && colon < le ? nameOf(buf, text, ls, colon) : undefined;
    }
    if (name === undefined) {
      malformed = true;
    } else {
      if (name === 'content-length') lengthLine = lengthLine === NO_LINE ? count : SEVERAL_LINES;
      const p = count * STRIDE;
      names[count++] = name;
      pos[p] = ls;
      pos[p + 1] = le;
      pos[p + 2] = folded ? -colon : colon;
    }
    ls = le + 2;
  }
  return new HeaderIndex(buf, text, names.slice(0, count), pos.slice(0, count * STRIDE), malformed, headEnd, lengthLine);
}

const NAMES: string[] = [];
const POS: number[] = [];

/** Offset of the next CRLF from `from`, or `end`: a single-character search (the faster one), a bare LF skipped. */
function crlf(buf: Uint8Array, text: string, from: number, end: number): number {
  let nl = text.indexOf('\n', from);
  while (nl !== -1 && nl <= end && buf[nl - 1] !== 0x0d) nl = text.indexOf('\n', nl + 1);
  return nl === -1 || nl - 1 > end ? end : nl - 1;
}

/** The usual spelling (with its colon) that the line at `a` starts with, if any. */
function knownName(buf: Uint8Array, a: number): Spelling | undefined {
  const b0 = buf[a]!;
  const b1 = buf[a + 1]!;
  if ((b0 | b1) > 0x7f) return undefined;
  const bucket = SPELLINGS[slot(b0, b1)];
  if (bucket === undefined) return undefined;
  for (let j = 0; j < bucket.length; j++) {
    // the colon first (it tells the lengths apart), then back to the two bytes the slot confirmed
    const w = bucket[j]!.bytes;
    let k = w.length - 1;
    if (buf[a + k] !== 0x3a) continue;
    while (--k > 1 && buf[a + k] === w[k]);
    if (k <= 1) return bucket[j];
  }
  return undefined;
}

/** The general path: a token, perhaps followed by SP/HTAB (RFC 3261 7.3.1 allows LWS before ':'). */
function nameOf(buf: Uint8Array, text: string, a: number, colon: number): string | undefined {
  let b = colon;
  while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--;
  return tokenHeaderName(text.slice(a, b));
}
