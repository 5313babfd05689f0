// Byte-level peeks into a raw SIP message on the main thread, which never fully parses (DESIGN.md
// "Hot path rules"). Only the header section is scanned and only the wanted value becomes a string.

const LF = 0x0a;
const CR = 0x0d;
const SP = 0x20;
const HTAB = 0x09;
const COLON = 0x3a;

function isWs(b: number): boolean {
  return b === SP || b === HTAB;
}

function asciiLower(s: string): Uint8Array {
  const lower = s.toLowerCase();
  const out = new Uint8Array(lower.length);
  for (let i = 0; i < lower.length; i++) out[i] = lower.charCodeAt(i);
  return out;
}

/** Case-insensitive compare of buf[start, end) with a lowercase ASCII name. */
function nameEquals(buf: Buffer, start: number, end: number, lower: Uint8Array): boolean {
  if (end - start !== lower.length) return false;
  for (let i = 0; i < lower.length; i++) {
    const b = buf[start + i];
    const t = lower[i];
    if (b !== t && !(t >= 0x61 && t <= 0x7a && b === t - 0x20)) return false;
  }
  return true;
}

/** End of the line content in [pos, lf): a CR right before the LF is not content. */
function contentEnd(buf: Buffer, pos: number, lf: number): number {
  return lf > pos && buf[lf - 1] === CR ? lf - 1 : lf;
}

/** Index of the next LF at or after pos, or buf.length. */
function nextLf(buf: Buffer, pos: number): number {
  const lf = buf.indexOf(LF, pos);
  return lf === -1 ? buf.length : lf;
}

/** Trimmed latin1 slice of buf[start, end), or '' when only whitespace. */
function trimmedSlice(buf: Buffer, start: number, end: number): string {
  while (start < end && isWs(buf[start])) start++;
  while (end > start && isWs(buf[end - 1])) end--;
  return buf.toString('latin1', start, end);
}

/** A header name compiled once (module scope) so the per-message scan allocates nothing. */
export interface HeaderName {
  readonly long: Uint8Array;
  readonly compact: Uint8Array | undefined;
}

export function compileHeaderName(long: string, compact?: string): HeaderName {
  return { long: asciiLower(long), compact: compact === undefined ? undefined : asciiLower(compact) };
}

/** Index of the first byte of the start line (RFC 3261 7.5: leading CRLFs are ignored). */
function skipLeadingCrlf(buf: Buffer): number {
  let pos = 0;
  while (pos < buf.length && (buf[pos] === CR || buf[pos] === LF)) pos++;
  return pos;
}

/**
 * Value of the first header called `name` in the header section of `buf`, trimmed, with folded
 * continuation lines joined by one space; undefined when absent.
 * The scan stops at the first empty line (CRLF CRLF, bare LF tolerated).
 */
export function peekHeader(buf: Buffer, name: HeaderName): string | undefined {
  const len = buf.length;
  let pos = nextLf(buf, skipLeadingCrlf(buf)) + 1; // skip the start line
  while (pos < len) {
    const lf = nextLf(buf, pos);
    const end = contentEnd(buf, pos, lf);
    if (end === pos) return undefined; // empty line: end of headers
    // Cheap reject on the first letter before scanning the name (most lines are other headers).
    const first = buf[pos] | 0x20;
    if (first !== name.long[0] && first !== name.compact?.[0]) {
      pos = lf + 1;
      continue;
    }
    let nameEnd = pos;
    while (nameEnd < end && buf[nameEnd] !== COLON && !isWs(buf[nameEnd])) nameEnd++;
    let colon = nameEnd;
    while (colon < end && isWs(buf[colon])) colon++;
    if (
      colon < end &&
      buf[colon] === COLON &&
      (nameEquals(buf, pos, nameEnd, name.long) ||
        (name.compact !== undefined && nameEquals(buf, pos, nameEnd, name.compact)))
    ) {
      return foldedValue(buf, colon + 1, end, lf + 1);
    }
    pos = lf + 1;
  }
  return undefined;
}

function foldedValue(buf: Buffer, start: number, end: number, next: number): string {
  let value = trimmedSlice(buf, start, end);
  // RFC 3261 7.3.1: a line starting with SP/HTAB continues the previous header.
  while (next < buf.length && isWs(buf[next])) {
    const lf = nextLf(buf, next);
    const part = trimmedSlice(buf, next, contentEnd(buf, next, lf));
    if (part.length > 0) value = value.length > 0 ? `${value} ${part}` : part;
    next = lf + 1;
  }
  return value;
}

const CALL_ID = compileHeaderName('Call-ID', 'i');
const VIA = compileHeaderName('Via', 'v');

/** Call-ID (or compact `i`) of a raw SIP message, or undefined when absent. */
export function peekCallId(buf: Buffer): string | undefined {
  return peekHeader(buf, CALL_ID);
}

const SIP_SLASH = [0x53, 0x49, 0x50, 0x2f]; // "SIP/"

/** True when the start line is a status line (`SIP/2.0 200 OK`). */
export function peekIsResponse(buf: Buffer): boolean {
  const pos = skipLeadingCrlf(buf);
  if (buf.length - pos < SIP_SLASH.length) return false;
  for (let i = 0; i < SIP_SLASH.length; i++) if (buf[pos + i] !== SIP_SLASH[i]) return false;
  return true;
}

const BRANCH_PARAM = /;\s*branch\s*=\s*([^\s;,]+)/i;

/** `branch` parameter of the topmost Via (or `v`) value, or undefined. */
export function peekTopViaBranch(buf: Buffer): string | undefined {
  const via = peekHeader(buf, VIA);
  if (via === undefined) return undefined;
  // Only the first via-parm of a comma-separated Via header is the top one.
  const comma = via.indexOf(',');
  const top = comma === -1 ? via : via.slice(0, comma);
  const m = BRANCH_PARAM.exec(top);
  return m === null ? undefined : m[1];
}
