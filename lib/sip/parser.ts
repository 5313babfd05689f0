// Structural parse of one SIP message. It indexes header lines and finds the body; it parses no
// header value. Defects that still leave a message worth answering (so a 400/505 can be built
// from its Via, From, To, Call-ID and CSeq) are reported beside the message instead of thrown.
import { createError } from '../errors.js';
import { tokenHeaderName } from './header-names.js';
import { indexHeaders, NO_LINE, SEVERAL_LINES, type HeaderIndex } from './header-index.js';
import { SipMessage, type HeaderField } from './message.js';
import { knownMethod } from './methods.js';

export interface Defect { status: number; reason: string }
export interface ParseResult { message: SipMessage; defect: Defect | undefined }

const METHOD_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');
const WHOLE_MAX = 8192;
const NO_BODY = Buffer.alloc(0);

/**
 * Parse a datagram or a framed stream message. Throws SIP_ERR_PARSE only when not even a start
 * line and header section can be found (nothing to answer).
 */
export function parseMessage(buf: Buffer): ParseResult {
  // A datagram-sized message is decoded whole (one native call); its header lines are indexed and its
  // header end found in one pass over the text.
  if (buf.length <= WHOLE_MAX) {
    const whole = latin1(buf, buf.length);
    const eol = whole.indexOf('\r\n');
    if (eol !== -1) {
      const index = indexHeaders(buf, whole, eol + 2, whole.length);
      if (index.headEnd !== -1) {
        const usual = usualRequest(buf, whole, eol);
        if (usual !== undefined) return indexed(buf, usual, undefined, index, index.headEnd, 4);
        const start = parseStartLine(buf, whole.slice(0, eol));
        return indexed(buf, start.message, start.defect, index, index.headEnd, 4);
      }
    }
  }
  // A large message is decoded only up to its header end, so no big body is kept twice as text; a
  // header section without CRLF CRLF (bare LF line ends, or the end of a datagram) is found here too.
  let headEnd = buf.indexOf(CRLFCRLF);
  let sepLen = 4;
  if (headEnd === -1) {
    headEnd = buf.indexOf(LFLF);
    sepLen = 2;
    if (headEnd === -1) {
      // A datagram may end right after the last header line with a single CRLF
      if (buf.length >= 2 && buf[buf.length - 2] === 0x0d && buf[buf.length - 1] === 0x0a) { headEnd = buf.length - 2; sepLen = 2; }
      else throw createError('SIP_ERR_PARSE', 'no end of header section', 400);
    }
  }
  const head = latin1(buf, headEnd);
  if (sepLen !== 4 && head.indexOf('\n') !== -1) return finish(buf, head.split(/\r?\n/), headEnd, sepLen);
  // CRLF line ends, indexed in place (lib/sip/header-index.ts)
  const eol = head.indexOf('\r\n');
  const start = parseStartLine(buf, eol === -1 ? head : head.slice(0, eol));
  return indexed(buf, start.message, start.defect, indexHeaders(buf, head, eol === -1 ? headEnd : eol + 2, headEnd), headEnd, sepLen);
}

/** The message from its start line and header index; the body from Content-Length. */
function indexed(buf: Buffer, message: SipMessage, startDefect: Defect | undefined, index: HeaderIndex, headEnd: number, sepLen: number): ParseResult {
  let defect = startDefect;
  if (index.malformed) defect ??= { status: 400, reason: 'Malformed Header Line' };
  message.setIndex(index);
  const at = index.lengthLine;
  // the number straight from the bytes; anything but plain digits is judged from the value's text
  const cl = at === NO_LINE ? undefined : at === SEVERAL_LINES ? 'bad' : lengthOf(index, at);
  return { message, defect: bodyOf(buf, message, cl === -1 ? 'bad' : cl, defect, headEnd, sepLen) };
}

function lengthOf(index: HeaderIndex, at: number): number {
  const n = index.decimal(at);
  return n !== -1 ? n : digits(index.value(at));
}

/**
 * buf[0, end) as latin1 text: Buffer's own latin1Slice, which toString calls after checking its
 * arguments and looking up the encoding (a measurable share of a small message's parse).
 */
function latin1(buf: Buffer, end: number): string {
  return (buf as Latin1Sliceable).latin1Slice(0, end);
}
type Latin1Sliceable = Buffer & { latin1Slice(start: number, end: number): string };

/** A header section ended by a bare LF pair (lines may end in LF or CRLF): the same from an array of lines. */
function finish(buf: Buffer, lines: string[], headEnd: number, sepLen: number): ParseResult {
  const msg = parseStartLine(buf, lines[0] ?? '');
  let defect: Defect | undefined = msg.defect;
  const headers: HeaderField[] = [];
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i]!;
    let folded = false;
    while (i + 1 < lines.length && (lines[i + 1]!.charCodeAt(0) === 0x20 || lines[i + 1]!.charCodeAt(0) === 0x09)) {
      line += '\r\n' + lines[++i]!;
      folded = true;
    }
    const f = headerField(line, folded);
    if (f === undefined) defect ??= { status: 400, reason: 'Malformed Header Line' };
    else headers.push(f);
  }
  msg.message.headers = headers;
  return { message: msg.message, defect: bodyOf(buf, msg.message, contentLength(msg.message), defect, headEnd, sepLen) };
}

function headerField(line: string, folded: boolean): HeaderField | undefined {
  const colon = line.indexOf(':');
  if (colon === -1) return undefined;
  const name = tokenHeaderName(trimEndWs(line.slice(0, colon)));
  if (name === undefined) return undefined;
  if (folded) return { name, value: line.slice(colon + 1).replace(/\r\n[ \t]+/g, ' ').trim(), line };
  // one slice for the value: skip SP/HTAB on both sides in place (other whitespace: trim())
  let a = colon + 1;
  let b = line.length;
  while (a < b && (line.charCodeAt(a) === 0x20 || line.charCodeAt(a) === 0x09)) a++;
  while (b > a && (line.charCodeAt(b - 1) === 0x20 || line.charCodeAt(b - 1) === 0x09)) b--;
  const value = line.slice(a, b);
  return { name, value: value.length > 0 && (value.charCodeAt(0) <= 0x20 || value.charCodeAt(0) === 0xa0 || value.charCodeAt(value.length - 1) <= 0x20 || value.charCodeAt(value.length - 1) === 0xa0) ? value.trim() : value, line };
}

/** Sets the body from Content-Length; returns the defect, if any (the first one found wins). */
function bodyOf(buf: Buffer, message: SipMessage, cl: number | undefined | 'bad', defect: Defect | undefined, headEnd: number, sepLen: number): Defect | undefined {
  const bodyStart = headEnd + sepLen;
  const available = buf.length - bodyStart;
  if (cl === 'bad') {
    defect ??= { status: 400, reason: 'Bad Content-Length' };
    message.body = buf.subarray(bodyStart);
  } else if (cl === undefined) {
    message.body = buf.subarray(bodyStart);
  } else if (cl > available) {
    defect ??= { status: 400, reason: 'Content-Length Exceeds Message' };
    message.body = buf.subarray(bodyStart);
  } else if (cl === 0) {
    // no body (most requests but INVITE): one shared empty Buffer, no view that keeps the datagram alive
    message.body = NO_BODY;
  } else {
    // octets past Content-Length in a datagram are not part of the message (RFC 4475 3.1.1.8)
    message.body = buf.subarray(bodyStart, bodyStart + cl);
  }
  return defect;
}

/**
 * The common request line, `<known method> <uri> SIP/2.0` ending at `eol` (the start line is the
 * first line of `buf`; `text` is its latin1 decoding), checked on the bytes without split or regex
 * and without cutting the line out first; undefined for anything else.
 */
function usualRequest(buf: Buffer, text: string, eol: number): SipMessage | undefined {
  const method = knownMethod(buf, 0, eol);
  if (method === undefined || buf[method.length] !== 0x20) return undefined;
  const sp2 = text.indexOf(' ', method.length + 1);
  if (sp2 <= method.length + 1 || eol !== sp2 + 8 || buf[sp2 + 1] !== 0x53 || buf[sp2 + 2] !== 0x49 || buf[sp2 + 3] !== 0x50 ||
    buf[sp2 + 4] !== 0x2f || buf[sp2 + 5] !== 0x32 || buf[sp2 + 6] !== 0x2e || buf[sp2 + 7] !== 0x30) return undefined;
  return SipMessage.request(method, text.slice(method.length + 1, sp2));
}

interface StartLine { message: SipMessage; defect: Defect | undefined }

/** The start line `line`, the first line of `buf` (its latin1 decoding, up to the line end). */
function parseStartLine(buf: Buffer, line: string): StartLine {
  if (line.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6][0-9]{2})(?: (.*))?$/.exec(line);
    if (m === null) throw createError('SIP_ERR_PARSE', `malformed status line '${line.slice(0, 80)}'`);
    return { message: SipMessage.response(Number(m[1]), m[2] ?? ''), defect: undefined };
  }
  const usual = usualRequest(buf, line, line.length);
  if (usual !== undefined) return { message: usual, defect: undefined };
  const parts = line.split(' ');
  const method = parts[0] ?? '';
  if (!METHOD_RE.test(method)) throw createError('SIP_ERR_PARSE', `malformed request line '${line.slice(0, 80)}'`, 400);
  const message = SipMessage.request(method, parts[1] ?? '');
  if (parts.length !== 3 || parts[1] === '' || parts[2] === '') {
    return { message, defect: { status: 400, reason: 'Malformed Request-Line' } };
  }
  if (parts[2] !== 'SIP/2.0') {
    const v = /^SIP\/[0-9]+\.[0-9]+$/.test(parts[2]!);
    return { message, defect: v ? { status: 505, reason: 'Version Not Supported' } : { status: 400, reason: 'Malformed Request-Line' } };
  }
  return { message, defect: undefined };
}

function contentLength(message: SipMessage): number | undefined | 'bad' {
  let found: number | undefined;
  for (let i = 0, size = message.size; i < size; i++) {
    if (message.nameAt(i) !== 'content-length') continue;
    const n = digits(message.valueAt(i));
    if (n < 0) return 'bad';
    // two Content-Length lines: the body length is unknowable (RFC 4475 3.3.9)
    if (found !== undefined) return 'bad';
    found = n;
  }
  return found;
}

function trimEndWs(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return end === s.length ? s : s.slice(0, end);
}

/** 1 to 9 decimal digits as a number; -1 for anything else. */
function digits(s: string): number {
  if (s.length === 0 || s.length > 9) return -1;
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i) - 0x30;
    if (c < 0 || c > 9) return -1;
    n = n * 10 + c;
  }
  return n;
}
