// Offset index of a received header section: one pass over the text records where each header line
// starts and ends and where its colon is, and recognises the usual header names in place.
// No string is cut at parse time; a value is sliced (and remembered) the first time it is read, and
// HeaderField objects exist only if some caller asks for the whole list.
import { compilePrefixMatcher } from './byte-prefix.js';
import { cseqAt, type CSeq } from './cseq.js';
import { tokenHeaderName } from './header-names.js';
import type { HeaderField } from './message.js';
import { usualViaAt, type Via } from './via.js';

// The usual names (any case) and the compact forms, each with its colon, recognised by a compiled
// byte-prefix matcher (lib/sip/byte-prefix.ts) straight from the buffer: a known name also gives the
// colon's place, so its line needs no search for ':'. Other names (and whitespace before the colon)
// take tokenHeaderName, which checks and remembers them.
interface KnownName { name: string; length: number }
/**
 * The internalized copy of a string (property keys are internalized): names the index hands out are
 * then the very strings of the literals callers search for ('call-id'), and compare by identity.
 */
function intern(s: string): string {
  return Object.keys({ [s]: true })[0]!;
}
const KNOWN_NAMES = ['Via', 'From', 'To', 'Call-ID', 'CSeq', 'Contact', 'Max-Forwards', 'Content-Type', 'Content-Length',
  'Record-Route', 'Route', 'Subject', 'User-Agent', 'Allow', 'Supported', 'Expires', 'Authorization',
  'Proxy-Authorization', 'WWW-Authenticate', 'Proxy-Authenticate', 'Authentication-Info', 'Server', 'Accept',
  'Require', 'Proxy-Require', 'Session-Expires', 'Min-SE', 'Min-Expires', 'P-Asserted-Identity', 'Privacy', 'Date',
  'Path', 'RSeq', 'RAck', 'Event', 'Allow-Events', 'Refer-To', 'Referred-By', 'Unsupported', 'Warning',
  'Accept-Encoding', 'Accept-Language', 'Content-Encoding', 'Content-Disposition', 'MIME-Version', 'Timestamp',
  'Organization', 'Priority', 'Reply-To', 'Retry-After', 'Call-Info', 'Diversion', 'History-Info', ...'imelcfsktvorbuajdxyn'];
const knownName = compilePrefixMatcher<KnownName>(
  KNOWN_NAMES.map((wire) => [`${wire}:`, { name: intern(tokenHeaderName(wire)!), length: wire.length }]), { ignoreCase: true });

/** Per header line: [lineStart, lineEnd, colon]; the colon's offset is negated on a folded line. */
const STRIDE = 3;

export class HeaderIndex {
  /** Values already sliced, by line number. */
  private values: Array<string | undefined> | undefined;
  /** End of the span the last valueStart/plainSpan found (a field, so no pair is allocated). */
  private spanEnd = 0;

  constructor(private buf: Uint8Array, readonly text: string, readonly names: readonly string[], private readonly pos: readonly number[],
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
      const a = this.valueStart(p);
      const b = this.spanEnd;
      v = text.slice(a, b);
      // other whitespace at either end still goes (as String.trim)
      if (b > a && (oddSpace(this.buf[a]!) || oddSpace(this.buf[b - 1]!))) v = v.trim();
    }
    (this.values ??= new Array<string | undefined>(this.names.length))[i] = v;
    return v;
  }

  /**
   * Line i's value as a decimal number of 1 to 9 digits, read from the bytes (Content-Length): -1
   * when the value is anything else (folded, signs, other whitespace...), which the caller then
   * reads from value(i).
   */
  decimal(i: number): number {
    const a = this.plainSpan(i);
    const b = this.spanEnd;
    if (a === -1 || b - a > 9 || b === a) return -1;
    const buf = this.buf;
    let n = 0;
    for (let k = a; k < b; k++) {
      const c = buf[k]! - 0x30;
      if (c < 0 || c > 9) return -1;
      n = n * 10 + c;
    }
    return n;
  }

  /** Line i's CSeq read from the bytes when it has the usual shape (lib/sip/cseq.ts), else undefined. */
  cseq(i: number): CSeq | undefined {
    const a = this.plainSpan(i);
    return a === -1 ? undefined : cseqAt(this.buf, this.text, a, this.spanEnd);
  }

  /**
   * The first Via of line i read from the bytes when it has the usual shape (lib/sip/via.ts), alone
   * on the line or ahead of a ',', else undefined.
   */
  usualVia(i: number): Via | undefined {
    const a = this.plainSpan(i);
    return a === -1 ? undefined : usualViaAt(this.buf, this.text, a, this.spanEnd, true);
  }

  /** Start of the value of the unfolded line at `p` (its pos offset) with SP/HTAB left out; its end in spanEnd. */
  private valueStart(p: number): number {
    const buf = this.buf;
    let a = this.pos[p + 2]! + 1;
    let b = this.pos[p + 1]!;
    while (a < b && (buf[a] === 0x20 || buf[a] === 0x09)) a++;
    while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--;
    this.spanEnd = b;
    return a;
  }

  /**
   * Start of line i's value in the bytes when value(i) is exactly text[start, spanEnd): the line is
   * not folded and no other whitespace ends the value. -1 otherwise.
   */
  private plainSpan(i: number): number {
    const p = i * STRIDE;
    if (this.pos[p + 2]! < 0) return -1;
    const a = this.valueStart(p);
    const b = this.spanEnd;
    return b > a && (oddSpace(this.buf[a]!) || oddSpace(this.buf[b - 1]!)) ? -1 : a;
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

  /** The received bytes the index points into. */
  get bytes(): Uint8Array {
    return this.buf;
  }

  /** Points the index at a copy of its bytes (the same offsets): see SipMessage.keepBytes(). */
  rebase(copy: Uint8Array): void {
    if (copy.byteLength !== this.buf.byteLength) throw new RangeError(`rebase to ${copy.byteLength} bytes, not ${this.buf.byteLength}`);
    this.buf = copy;
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
    const known = knownName(buf, ls, le);
    let colon: number;
    let name: string | undefined;
    if (known !== undefined) {
      colon = ls + known.length;
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

/** The general path: a token, perhaps followed by SP/HTAB (RFC 3261 7.3.1 allows LWS before ':'). */
function nameOf(buf: Uint8Array, text: string, a: number, colon: number): string | undefined {
  let b = colon;
  while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--;
  return tokenHeaderName(text.slice(a, b));
}
