// Structural parse of one SIP message. It indexes header lines and finds the body; it parses no
// header value. Defects that still leave a message worth answering (so a 400/505 can be built
// from its Via, From, To, Call-ID and CSeq) are reported beside the message instead of thrown.
import { createError } from '../errors.js';
import { normalizeHeaderName } from './header-names.js';
import { SipMessage, type HeaderField } from './message.js';

export interface Defect { status: number; reason: string }
export interface ParseResult { message: SipMessage; defect: Defect | undefined }

const TOKEN_RE = /^[A-Za-z0-9\-.!%*_+`'~]+$/;
const CRLFCRLF = Buffer.from('\r\n\r\n');
const LFLF = Buffer.from('\n\n');

/**
 * Parse a datagram or a framed stream message. Throws SIP_ERR_PARSE only when not even a start
 * line and header section can be found (nothing to answer).
 */
export function parseMessage(buf: Buffer): ParseResult {
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
  const head = buf.toString('latin1', 0, headEnd);
  const lines = sepLen === 4 || head.indexOf('\n') === -1 ? splitCrlf(head) : head.split(/\r?\n/);
  const startLine = lines[0] ?? '';
  const msg = parseStartLine(startLine);
  let defect: Defect | undefined = msg.defect;
  const message = msg.message;

  const headers: HeaderField[] = [];
  for (let i = 1; i < lines.length; i++) {
    let line = lines[i]!;
    let folded = false;
    // unfold continuation lines (RFC 3261 7.3.1)
    while (i + 1 < lines.length && (lines[i + 1]!.charCodeAt(0) === 0x20 || lines[i + 1]!.charCodeAt(0) === 0x09)) {
      line += '\r\n' + lines[++i]!;
      folded = true;
    }
    const colon = line.indexOf(':');
    const rawName = colon === -1 ? '' : trimEndWs(line.slice(0, colon));
    if (colon === -1 || !TOKEN_RE.test(rawName)) {
      defect ??= { status: 400, reason: 'Malformed Header Line' };
      continue;
    }
    let value = line.slice(colon + 1);
    if (folded) value = value.replace(/\r\n[ \t]+/g, ' ');
    headers.push({ name: normalizeHeaderName(rawName), value: value.trim(), line });
  }
  message.headers = headers;

  const bodyStart = headEnd + sepLen;
  const available = buf.length - bodyStart;
  const cl = contentLength(headers);
  if (cl === 'bad') {
    defect ??= { status: 400, reason: 'Bad Content-Length' };
    message.body = buf.subarray(bodyStart);
  } else if (cl === undefined) {
    message.body = buf.subarray(bodyStart);
  } else if (cl > available) {
    defect ??= { status: 400, reason: 'Content-Length Exceeds Message' };
    message.body = buf.subarray(bodyStart);
  } else {
    // octets past Content-Length in a datagram are not part of the message (RFC 4475 3.1.1.8)
    message.body = buf.subarray(bodyStart, bodyStart + cl);
  }
  return { message, defect };
}

function parseStartLine(line: string): { message: SipMessage; defect: Defect | undefined } {
  if (line.startsWith('SIP/')) {
    const m = /^SIP\/2\.0 ([1-6][0-9]{2})(?: (.*))?$/.exec(line);
    if (m === null) throw createError('SIP_ERR_PARSE', `malformed status line '${line.slice(0, 80)}'`);
    return { message: SipMessage.response(Number(m[1]), m[2] ?? ''), defect: undefined };
  }
  const parts = line.split(' ');
  const method = parts[0] ?? '';
  if (!TOKEN_RE.test(method)) throw createError('SIP_ERR_PARSE', `malformed request line '${line.slice(0, 80)}'`, 400);
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

function contentLength(headers: HeaderField[]): number | undefined | 'bad' {
  let found: number | undefined;
  for (const h of headers) {
    if (h.name !== 'content-length') continue;
    if (!/^[0-9]{1,9}$/.test(h.value)) return 'bad';
    const n = Number(h.value);
    // two Content-Length lines: the body length is unknowable (RFC 4475 3.3.9)
    if (found !== undefined) return 'bad';
    found = n;
  }
  return found;
}

function splitCrlf(head: string): string[] {
  const out: string[] = [];
  let start = 0;
  for (let i = head.indexOf('\r\n'); i !== -1; i = head.indexOf('\r\n', start)) {
    out.push(head.slice(start, i));
    start = i + 2;
  }
  out.push(head.slice(start));
  return out;
}

function trimEndWs(s: string): string {
  let end = s.length;
  while (end > 0 && (s.charCodeAt(end - 1) === 0x20 || s.charCodeAt(end - 1) === 0x09)) end--;
  return end === s.length ? s : s.slice(0, end);
}
