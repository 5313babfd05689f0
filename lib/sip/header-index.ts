// Offset index of a received header section: one pass over the text records where each header line
// starts and ends and where its colon is, and recognises the usual header names in place.
// No string is cut at parse time; a value is sliced (and remembered) the first time it is read, and
// HeaderField objects exist only if some caller asks for the whole list.
import { tokenHeaderName } from './header-names.js';
import type { HeaderField } from './message.js';

// The usual spellings of the usual names, found by length and first byte and confirmed byte by
// byte against small-integer arrays (cheaper than startsWith or a Uint8Array here). Other spellings
// (lower case, odd case, whitespace before the colon) take tokenHeaderName, which checks and
// remembers them.
interface Bucket { bytes: number[][]; names: string[] }
const SPELLINGS: Array<Bucket | undefined> = new Array(32 * 64).fill(undefined);
function addSpelling(wire: string, normalized: string): void {
  const bucket = (SPELLINGS[slot(wire.length, wire.charCodeAt(0))] ??= { bytes: [], names: [] });
  bucket.bytes.push(Array.from(Buffer.from(wire, 'latin1')));
  bucket.names.push(normalized);
}
function slot(length: number, first: number): number {
  return (length & 31) * 64 + (first & 63);
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

  constructor(readonly text: string, readonly names: readonly string[], private readonly pos: readonly number[],
    /** some line was left out: no colon, or a name that is not a token */
    readonly malformed: boolean) {}

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
      // SP/HTAB skipped in place, so the usual value is one slice
      let a = colon + 1;
      let b = this.pos[p + 1]!;
      while (a < b && (text.charCodeAt(a) === 0x20 || text.charCodeAt(a) === 0x09)) a++;
      while (b > a && (text.charCodeAt(b - 1) === 0x20 || text.charCodeAt(b - 1) === 0x09)) b--;
      v = text.slice(a, b);
      // other whitespace at either end still goes (as String.trim)
      if (v.length > 0 && (oddSpace(v.charCodeAt(0)) || oddSpace(v.charCodeAt(v.length - 1)))) v = v.trim();
    }
    (this.values ??= [])[i] = v;
    return v;
  }

  line(i: number): string {
    const p = i * STRIDE;
    return this.text.slice(this.pos[p]!, this.pos[p + 1]!);
  }

  /**
   * The header lines as they came (CRLF after each), every Content-Length line replaced by
   * `lengthLine`; runs of adjacent lines are cut from the text in one piece.
   */
  wireText(lengthLine: string): { text: string; hasLength: boolean } {
    let out = '';
    let hasLength = false;
    let runStart = -1;
    let runEnd = -1;
    for (let i = 0; i < this.names.length; i++) {
      const p = i * STRIDE;
      const ls = this.pos[p]!;
      const isLength = this.names[i] === 'content-length';
      if (runStart !== -1 && (isLength || ls !== runEnd)) { out += this.text.slice(runStart, runEnd); runStart = -1; }
      if (isLength) { out += lengthLine; hasLength = true; continue; }
      if (runStart === -1) runStart = ls;
      runEnd = this.pos[p + 1]! + 2;
    }
    if (runStart !== -1) out += this.text.slice(runStart, runEnd);
    return { text: out, hasLength };
  }

  fields(): HeaderField[] {
    const out: HeaderField[] = new Array(this.names.length);
    for (let i = 0; i < this.names.length; i++) out[i] = { name: this.names[i]!, value: this.value(i), line: this.line(i) };
    return out;
  }
}

function oddSpace(c: number): boolean {
  return c <= 0x20 || c === 0xa0;
}

/**
 * Index the header lines of `text` from `start` (the first header line) to `end` (the end of the
 * last one). Lines end in CRLF; a line starting with SP or HTAB continues the previous one.
 * Malformed lines (no colon, a name that is not a token) are left out and reported.
 */
export function indexHeaders(buf: Uint8Array, text: string, start: number, end: number): HeaderIndex {
  // `text` is `buf` decoded as latin1: the same offsets. Line ends and colons are found with the
  // string's indexOf (native); the few single characters looked at are read from the bytes (a
  // typed-array load is cheaper than charCodeAt).
  const names: string[] = [];
  const pos: number[] = [];
  let malformed = false;
  let ls = start;
  while (ls < end) {
    // the line, with its continuation lines
    let le = crlf(text, ls, end);
    let folded = false;
    while (le < end) {
      const c = buf[le + 2];
      if (c !== 0x20 && c !== 0x09) break;
      folded = true;
      le = crlf(text, le + 2, end);
    }
    // the name ends at the colon
    const colon = text.indexOf(':', ls);
    const name = colon > ls && colon < le ? nameOf(buf, text, ls, colon) : undefined;
    if (name === undefined) {
      malformed = true;
    } else {
      names.push(name);
      pos.push(ls, le, folded ? -colon : colon);
    }
    ls = le + 2;
  }
  return new HeaderIndex(text, names, pos, malformed);
}

/** Offset of the next CRLF from `from`, or `end`: a single-character search (the faster one), a bare LF skipped. */
function crlf(text: string, from: number, end: number): number {
  let nl = text.indexOf('\n', from);
  while (nl !== -1 && nl <= end && text.charCodeAt(nl - 1) !== 0x0d) nl = text.indexOf('\n', nl + 1);
  return nl === -1 || nl - 1 > end ? end : nl - 1;
}

function nameOf(buf: Uint8Array, text: string, a: number, colon: number): string | undefined {
  const len = colon - a;
  const known = SPELLINGS[slot(len, buf[a]!)];
  if (known !== undefined) {
    for (let j = 0; j < known.bytes.length; j++) {
      const w = known.bytes[j]!;
      if (w.length !== len) continue;
      let k = 0;
      while (k < len && buf[a + k] === w[k]) k++;
      if (k === len) return known.names[j];
    }
  }
  // the general path: a token, perhaps followed by SP/HTAB (RFC 3261 7.3.1 allows LWS before ':')
  let b = colon;
  while (b > a && (buf[b - 1] === 0x20 || buf[b - 1] === 0x09)) b--;
  return tokenHeaderName(text.slice(a, b));
}
