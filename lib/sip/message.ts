// A SIP message with a lazily used header index: headers are kept as (name, value) pairs in wire
// order; structured values are parsed only when asked for, and unchanged header lines are written
// back from their original text.
import { parseCSeq, type CSeq } from './cseq.js';
import { canonicalHeaderName, LIST_HEADERS, normalizeHeaderName } from './header-names.js';
import { countOfCommas, firstOfCommas, restAfterFirst, splitCommas } from './split.js';
import type { HeaderIndex } from './header-index.js';
import { parseUri, type SipUri } from './uri.js';
import { parseVia, type Via } from './via.js';

export interface HeaderField {
  /** normalized lower-case long name */
  name: string;
  /** value with folding collapsed, trimmed */
  value: string;
  /** original line text (name, colon and value, folding kept) while unchanged */
  line: string | undefined;
}

export type { CSeq } from './cseq.js';

/**
 * One header line of a message that was edited: a line of its HeaderIndex by number (unchanged, its
 * text is cut from the received message when sent), or a line of our own.
 */
type Line = number | HeaderField;

export class SipMessage {
  isRequest: boolean;
  method: string; // request method; for responses, the CSeq method once parsed
  uri: string; // request-URI text ('' for responses)
  status: number; // 0 for requests
  reason: string;
  body: Buffer;
  /** Header lines as objects: made on first use of `headers`, the truth from then on. */
  private fields: HeaderField[] | undefined;
  /** Header lines as received, while no caller has asked for `headers` (read-only, shared by clones). */
  private index: HeaderIndex | undefined;
  /**
   * With `index`, once edited (a forwarded copy's Max-Forwards, Via, Record-Route; a relayed
   * response without our Via): the lines in order, most of them still the index's. Edits this way
   * build no HeaderField object, and no string, for the lines they leave alone.
   */
  private edited: Line[] | undefined;
  /** topVia()'s answer, until the headers may change (validation and the core both need it) */
  private top: Via | undefined;
  /** valueCount('via') until the headers may change (-1: not counted): a response's Via line is
   *  counted by validation and up to three times by the core, each a scan of the whole line */
  private vias = -1;
  /** requestUri()'s answer and the `uri` text it was parsed from */
  private ruri: SipUri | undefined;
  private ruriText = '';

  constructor(init: { isRequest: boolean; method?: string; uri?: string; status?: number; reason?: string; headers?: HeaderField[]; index?: HeaderIndex; edited?: Line[]; body?: Buffer }) {
    this.isRequest = init.isRequest;
    this.method = init.method ?? '';
    this.uri = init.uri ?? '';
    this.status = init.status ?? 0;
    this.reason = init.reason ?? '';
    this.index = init.headers === undefined ? init.index : undefined;
    this.edited = this.index === undefined ? undefined : init.edited;
    this.fields = this.index === undefined ? init.headers ?? [] : undefined;
    this.body = init.body ?? EMPTY;
  }

  static request(method: string, uri: string): SipMessage {
    return new SipMessage({ isRequest: true, method, uri });
  }

  static response(status: number, reason: string): SipMessage {
    return new SipMessage({ isRequest: false, status, reason });
  }

  /** Every header line in wire order, as mutable objects (callers may edit the array). */
  get headers(): HeaderField[] {
    // whoever takes the array may edit it: what was read from it is no longer known to hold
    this.forgetReads();
    if (this.fields === undefined) {
      const index = this.index!;
      const edited = this.edited;
      // lines of our own are copied: a clone made before may still hold the same objects
      this.fields = edited === undefined ? index.fields()
        : edited.map((l) => typeof l === 'number' ? { name: index.names[l]!, value: index.value(l), line: index.line(l) } : { ...l });
      this.index = undefined;
      this.edited = undefined;
    }
    return this.fields;
  }

  set headers(headers: HeaderField[]) {
    this.fields = headers;
    this.index = undefined;
    this.edited = undefined;
    this.forgetReads();
  }

  /** Header lines as received (the parser's entry point): replaces whatever headers there were. */
  setIndex(index: HeaderIndex): void {
    this.index = index;
    this.edited = undefined;
    this.fields = undefined;
    this.forgetReads();
  }

  /** Number of header lines; with nameAt/valueAt/lineAt, a walk over them that materializes nothing. */
  get size(): number {
    if (this.fields !== undefined) return this.fields.length;
    return this.edited !== undefined ? this.edited.length : this.index!.size;
  }

  nameAt(i: number): string {
    if (this.fields !== undefined) return this.fields[i]!.name;
    const l = this.edited !== undefined ? this.edited[i]! : i;
    return typeof l === 'number' ? this.index!.names[l]! : l.name;
  }

  valueAt(i: number): string {
    if (this.fields !== undefined) return this.fields[i]!.value;
    const l = this.edited !== undefined ? this.edited[i]! : i;
    return typeof l === 'number' ? this.index!.value(l) : l.value;
  }

  lineAt(i: number): string | undefined {
    if (this.fields !== undefined) return this.fields[i]!.line;
    const l = this.edited !== undefined ? this.edited[i]! : i;
    return typeof l === 'number' ? this.index!.line(l) : l.line;
  }

  get(name: string): string | undefined {
    // callers inside the proxy pass normalized names: try that first, normalize only on a miss
    let i = this.find(name);
    if (i !== -1) return this.valueAt(i);
    const n = normalizeHeaderName(name);
    if (n === name) return undefined;
    i = this.find(n);
    return i === -1 ? undefined : this.valueAt(i);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Number of header lines with this name. */
  count(name: string): number {
    const n = normalizeHeaderName(name);
    let c = 0;
    for (let i = 0, size = this.size; i < size; i++) if (this.nameAt(i) === n) c++;
    return c;
  }

  /** Every value, list headers split on commas outside quotes and <>. */
  getAll(name: string): string[] {
    const n = normalizeHeaderName(name);
    const out: string[] = [];
    const list = LIST_HEADERS.has(n);
    for (let i = 0, size = this.size; i < size; i++) {
      if (this.nameAt(i) !== n) continue;
      if (list) for (const v of splitCommas(this.valueAt(i))) out.push(v);
      else out.push(this.valueAt(i));
    }
    return out;
  }

  /**
   * getAll(name)[0] without the array: a list header's line is split only when it holds a comma,
   * and only its first value is kept.
   */
  firstValue(name: string): string | undefined {
    const n = normalizeHeaderName(name);
    const list = LIST_HEADERS.has(n);
    for (let i = 0, size = this.size; i < size; i++) {
      if (this.nameAt(i) !== n) continue;
      if (!list) return this.valueAt(i);
      const v = firstOfCommas(this.valueAt(i));
      if (v !== undefined) return v; // an empty line has none: the next line's first
    }
    return undefined;
  }

  /** getAll(name).length without the array. */
  valueCount(name: string): number {
    const n = normalizeHeaderName(name);
    if (n === 'via' && this.vias !== -1) return this.vias;
    const list = LIST_HEADERS.has(n);
    let c = 0;
    for (let i = 0, size = this.size; i < size; i++) {
      if (this.nameAt(i) === n) c += list ? countOfCommas(this.valueAt(i)) : 1;
    }
    if (n === 'via') this.vias = c;
    return c;
  }

  private find(name: string): number {
    if (this.fields === undefined && this.edited === undefined) return this.index!.names.indexOf(name);
    for (let i = 0, size = this.size; i < size; i++) if (this.nameAt(i) === name) return i;
    return -1;
  }

  /** What was read from the lines and kept (the top Via, the Via count) may no longer hold. */
  private forgetReads(): void {
    this.top = undefined;
    this.vias = -1;
  }

  /**
   * The lines to edit in place: the objects once `headers` was used, else the index's lines by
   * number (edited from now on). Whatever topVia() read may change.
   */
  private lines(): Line[] {
    this.forgetReads();
    if (this.fields !== undefined) return this.fields;
    if (this.edited === undefined) {
      const n = this.index!.size;
      this.edited = new Array<Line>(n);
      for (let i = 0; i < n; i++) this.edited[i] = i;
    }
    return this.edited;
  }

  /** Keep only the lines `keep` accepts (by name and position), in place. */
  private filterLines(keep: (name: string, i: number) => boolean): void {
    const lines = this.lines();
    const index = this.index;
    let w = 0;
    for (let i = 0; i < lines.length; i++) {
      const l = lines[i]!;
      if (keep(typeof l === 'number' ? index!.names[l]! : l.name, i)) lines[w++] = l;
    }
    lines.length = w;
  }

  /** Replace every line of this header with one line holding `value`. */
  set(name: string, value: string): void {
    const n = normalizeHeaderName(name);
    const i = this.find(n);
    const lines = this.lines();
    if (i === -1) { lines.push(field(n, value)); return; }
    lines[i] = field(n, value);
    this.filterLines((name, j) => j <= i || name !== n);
  }

  append(name: string, value: string): void {
    this.lines().push(field(normalizeHeaderName(name), value));
  }

  /** Insert as the first line of its name (or first line of the message if none exists yet). */
  prepend(name: string, value: string): void {
    const n = normalizeHeaderName(name);
    const i = this.find(n);
    insertAt(this.lines(), i === -1 ? 0 : i, field(n, value));
  }

  remove(name: string): void {
    const n = normalizeHeaderName(name);
    if (this.find(n) === -1) return;
    this.filterLines((name) => name !== n);
  }

  /** Remove and return the first value of a list header (the top Via, the top Route). */
  shift(name: string): string | undefined {
    const n = normalizeHeaderName(name);
    const i = this.find(n);
    if (i === -1) return undefined;
    const value = this.valueAt(i);
    const lines = this.lines();
    const cut = restAfterFirst(value);
    const rest = cut === undefined || cut[1] === -1 ? '' : value.slice(cut[1]).trim();
    if (rest.indexOf(',') === -1) {
      // the usual line: one value (dropped whole) or two (the second stays as it was written)
      if (rest === '') removeAt(lines, i);
      else lines[i] = field(n, rest);
    } else {
      // three values or more, or empty ones among them: the rest rewritten as splitCommas sees it
      const others = splitCommas(rest);
      if (others.length === 0) removeAt(lines, i);
      else lines[i] = field(n, others.join(', '));
    }
    return cut?.[0];
  }

  /** Rewrite the first value of a list header in place (the top Via after received/rport). */
  replaceFirstValue(name: string, value: string): void {
    const n = normalizeHeaderName(name);
    const i = this.find(n);
    const lines = this.lines();
    if (i === -1) { lines.unshift(field(n, value)); return; }
    const values = splitCommas(this.valueAt(i));
    values[0] = value;
    lines[i] = field(n, values.join(', '));
  }

  get callId(): string {
    return this.get('call-id') ?? '';
  }

  cseq(): CSeq {
    // the usual value straight from the received bytes, else from its text
    const l = this.receivedLine('cseq');
    return (l !== -1 ? this.index!.cseq(l) : undefined) ?? parseCSeq(this.get('cseq') ?? '');
  }

  /**
   * The first value of the Via header (the same text as getAll('via')[0]), parsed once while the
   * headers stay as they are. The object is shared: a caller that edits it writes it back (RFC 3581
   * received/rport), which goes through `headers` and forgets it.
   */
  topVia(): Via | undefined {
    if (this.top !== undefined) return this.top;
    // the usual received line: read from its bytes
    const l = this.receivedLine('via');
    const usual = l !== -1 ? this.index!.usualVia(l) : undefined;
    if (usual !== undefined) return (this.top = usual);
    // the first value of the first Via line; cut at its first comma only when that line has any
    for (let i = 0, size = this.size; i < size; i++) {
      if (this.nameAt(i) !== 'via') continue;
      const value = this.valueAt(i);
      const v = value.indexOf(',') === -1 ? value : firstOfCommas(value);
      if (v !== undefined && v !== '') return (this.top = parseVia(v));
    }
    return undefined;
  }

  /**
   * parseUri(this.uri), parsed once while `uri` holds the same text: validation, the scheme check,
   * routing and the forwarded copy all read it. Shared: callers must not edit it. Throws as parseUri.
   */
  requestUri(): SipUri {
    if (this.ruri === undefined || this.ruriText !== this.uri) {
      this.ruri = parseUri(this.uri);
      this.ruriText = this.uri;
    }
    return this.ruri;
  }

  /** The index line of the first `name` line while that line is as received, else -1. */
  private receivedLine(name: string): number {
    if (this.fields !== undefined) return -1;
    const i = this.find(name);
    if (i === -1) return -1;
    const l = this.edited !== undefined ? this.edited[i]! : i;
    return typeof l === 'number' ? l : -1;
  }

  /**
   * The message as sent: one Buffer written in place (start line, header lines, body), its size
   * counted first. Unchanged received lines are copied from the received bytes in runs of adjacent
   * lines; no header text is built as a string. An ArrayBuffer of its own, not a slice of Node's
   * 8 KB pool: a transaction keeping it for retransmission would keep the whole slab alive.
   */
  toBuffer(): Buffer {
    const body = this.body;
    const index = this.index;
    const edited = this.edited;
    const fields = this.fields;
    const size = this.size;
    const status = this.isRequest ? '' : String(this.status);
    // the size: start line, lines (every Content-Length line rewritten), the Content-Length we add
    // when there is none, the empty line, the body
    let total = this.isRequest ? this.method.length + this.uri.length + 13 : status.length + this.reason.length + 13;
    const lengthLine = LENGTH_NAME.length + decimalLength(body.length) + 2;
    let hasLength = false;
    for (let i = 0; i < size; i++) {
      const l = fields !== undefined ? fields[i]! : edited !== undefined ? edited[i]! : i;
      if (typeof l === 'number') {
        if (index!.names[l] === 'content-length') { hasLength = true; total += lengthLine; } else total += index!.lineEnd(l) - index!.lineStart(l) + 2;
      } else if (l.name === 'content-length') {
        hasLength = true;
        total += lengthLine;
      } else {
        total += (l.line !== undefined ? l.line.length : canonicalHeaderName(l.name).length + 2 + l.value.length) + 2;
      }
    }
    if (!hasLength) total += lengthLine;
    const out = Buffer.allocUnsafeSlow(total + body.length) as Latin1Writable;
    // start line
    let at: number;
    if (this.isRequest) {
      at = writeText(out, 0, this.method);
      out[at++] = 0x20;
      at = writeText(out, at, this.uri);
      at = writeText(out, at, ' SIP/2.0\r\n');
    } else {
      at = writeText(out, 0, 'SIP/2.0 ');
      at = writeText(out, at, status);
      out[at++] = 0x20;
      at = writeText(out, at, this.reason);
      at = crlf(out, at);
    }
    // header lines; a run of received lines that were adjacent is copied in one piece
    let runStart = -1;
    let runEnd = -1;
    for (let i = 0; i < size; i++) {
      const l = fields !== undefined ? fields[i]! : edited !== undefined ? edited[i]! : i;
      if (typeof l === 'number' && index!.names[l] !== 'content-length') {
        const ls = index!.lineStart(l);
        if (ls !== runEnd) {
          if (runStart !== -1) at = index!.copyBytes(out, at, runStart, runEnd);
          runStart = ls;
        }
        runEnd = index!.lineEnd(l) + 2;
        continue;
      }
      if (runStart !== -1) { at = index!.copyBytes(out, at, runStart, runEnd); runStart = runEnd = -1; }
      if (typeof l === 'number' || l.name === 'content-length') {
        at = writeLength(out, at, body.length);
      } else if (l.line !== undefined) {
        at = crlf(out, writeText(out, at, l.line));
      } else {
        at = writeText(out, at, canonicalHeaderName(l.name));
        out[at++] = 0x3a;
        out[at++] = 0x20;
        at = crlf(out, writeText(out, at, l.value));
      }
    }
    if (runStart !== -1) at = index!.copyBytes(out, at, runStart, runEnd);
    // Every message we send carries Content-Length: required on streams, harmless on UDP.
    if (!hasLength) at = writeLength(out, at, body.length);
    at = crlf(out, at);
    // a miscount would send uninitialized memory: a bug, never a peer's doing
    if (at + body.length !== out.length) throw new Error(`toBuffer wrote ${at} header bytes of ${total} counted`);
    if (body.length > 0) body.copy(out, at);
    return out;
  }

  /**
   * Gives the message bytes of their own when they are a view into a larger buffer: a shard reads
   * each batch of messages from the main thread in place (lib/shard/shard-runtime.ts), so whatever
   * keeps a received message beyond its batch (a response context, a branch's final response)
   * calls this first, or the whole batch stays alive with it. Clones made afterwards share the
   * copy; a clone made before keeps its body view.
   */
  keepBytes(): this {
    const index = this.index;
    /** the buffer the index now owns: a body inside it needs no copy of its own */
    let kept: ArrayBufferLike | undefined;
    if (index !== undefined) {
      const old = index.bytes;
      if (ownsBuffer(old)) {
        kept = old.buffer;
      } else {
        const copy = copyOf(old);
        index.rebase(copy);
        kept = copy.buffer;
        const body = this.body;
        if (body.byteLength > 0 && body.buffer === old.buffer && body.byteOffset >= old.byteOffset && body.byteOffset + body.byteLength <= old.byteOffset + old.byteLength) {
          const at = body.byteOffset - old.byteOffset;
          this.body = copy.subarray(at, at + body.byteLength);
        }
      }
    }
    const body = this.body;
    if (body.byteLength === 0) this.body = EMPTY; // an empty view still holds its buffer
    else if (body.buffer !== kept && !ownsBuffer(body)) this.body = copyOf(body);
    return this;
  }

  clone(): SipMessage {
    const copy = new SipMessage({
      isRequest: this.isRequest, method: this.method, uri: this.uri, status: this.status,
      reason: this.reason, body: this.body,
      // the index is never written to: a clone shares it until either side asks for `headers`; the
      // lines of our own in `edited` are shared too (edits replace them, never change them)
      ...(this.index !== undefined ? { index: this.index, edited: this.edited?.slice() } : { headers: this.fields!.map((h) => ({ ...h })) }),
    });
    // the same Request-URI text: its parse is shared too (never edited)
    copy.ruri = this.ruri;
    copy.ruriText = this.ruriText;
    return copy;
  }
}

const EMPTY = Buffer.alloc(0);

/** The view covers its whole ArrayBuffer: keeping it keeps nothing else alive. */
export function ownsBuffer(view: Uint8Array): boolean {
  return view.byteOffset === 0 && view.byteLength === view.buffer.byteLength;
}

/** The bytes in an ArrayBuffer of their own (not Buffer.from: small copies share an 8 KB pool slab). */
export function copyOf(view: Uint8Array): Buffer {
  const copy = Buffer.allocUnsafeSlow(view.byteLength);
  copy.set(view);
  return copy;
}

type Latin1Writable = Buffer & { latin1Write(s: string, at: number): number };
const LENGTH_NAME = 'Content-Length: ';

function crlf(out: Buffer, at: number): number {
  out[at] = 0x0d;
  out[at + 1] = 0x0a;
  return at + 2;
}

function decimalLength(n: number): number {
  let d = 1;
  for (let v = n; v >= 10; v = Math.floor(v / 10)) d++;
  return d;
}

/**
 * `s` written as latin1 at `at` (a char above 0xff keeps its low byte, as Buffer's latin1 does);
 * returns the offset after it. Short text byte by byte: a native latin1Write costs more per call
 * than a short loop.
 */
function writeText(out: Latin1Writable, at: number, s: string): number {
  const n = s.length;
  if (n > WRITE_LOOP_MAX) return at + out.latin1Write(s, at);
  for (let k = 0; k < n; k++) out[at + k] = s.charCodeAt(k);
  return at + n;
}
const WRITE_LOOP_MAX = 64;

/** `Content-Length: <n>` and its CRLF, the digits written as bytes (no string for the number). */
function writeLength(out: Latin1Writable, at: number, n: number): number {
  at = writeText(out, at, LENGTH_NAME);
  const end = at + decimalLength(n);
  let v = n;
  for (let k = end - 1; k >= at; k--) {
    out[k] = 0x30 + v % 10;
    v = Math.floor(v / 10);
  }
  return crlf(out, end);
}

// splice() would return an array of what it removed: a garbage array per forwarded message
function insertAt(lines: Line[], i: number, l: Line): void {
  for (let k = lines.length; k > i; k--) lines[k] = lines[k - 1]!;
  lines[i] = l;
}

function removeAt(lines: Line[], i: number): void {
  for (let k = i + 1; k < lines.length; k++) lines[k - 1] = lines[k]!;
  lines.length--;
}

function field(name: string, value: string): HeaderField {
  return { name, value, line: undefined };
}
