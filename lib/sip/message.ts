// A SIP message with a lazily used header index: headers are kept as (name, value) pairs in wire
// order; structured values are parsed only when asked for, and unchanged header lines are written
// back from their original text.
import { canonicalHeaderName, LIST_HEADERS, normalizeHeaderName } from './header-names.js';
import { splitCommas } from './split.js';
import { parseVia, type Via } from './via.js';

export interface HeaderField {
  /** normalized lower-case long name */
  name: string;
  /** value with folding collapsed, trimmed */
  value: string;
  /** original line text (name, colon and value, folding kept) while unchanged */
  line: string | undefined;
}

export interface CSeq { seq: number; method: string }

export class SipMessage {
  isRequest: boolean;
  method: string; // request method; for responses, the CSeq method once parsed
  uri: string; // request-URI text ('' for responses)
  status: number; // 0 for requests
  reason: string;
  headers: HeaderField[];
  body: Buffer;

  constructor(init: { isRequest: boolean; method?: string; uri?: string; status?: number; reason?: string; headers?: HeaderField[]; body?: Buffer }) {
    this.isRequest = init.isRequest;
    this.method = init.method ?? '';
    this.uri = init.uri ?? '';
    this.status = init.status ?? 0;
    this.reason = init.reason ?? '';
    this.headers = init.headers ?? [];
    this.body = init.body ?? EMPTY;
  }

  static request(method: string, uri: string): SipMessage {
    return new SipMessage({ isRequest: true, method, uri });
  }

  static response(status: number, reason: string): SipMessage {
    return new SipMessage({ isRequest: false, status, reason });
  }

  get(name: string): string | undefined {
    // callers inside the proxy pass normalized names: try that first, normalize only on a miss
    for (const h of this.headers) if (h.name === name) return h.value;
    const n = normalizeHeaderName(name);
    if (n === name) return undefined;
    for (const h of this.headers) if (h.name === n) return h.value;
    return undefined;
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /** Number of header lines with this name. */
  count(name: string): number {
    const n = normalizeHeaderName(name);
    let c = 0;
    for (const h of this.headers) if (h.name === n) c++;
    return c;
  }

  /** Every value, list headers split on commas outside quotes and <>. */
  getAll(name: string): string[] {
    const n = normalizeHeaderName(name);
    const out: string[] = [];
    const list = LIST_HEADERS.has(n);
    for (const h of this.headers) {
      if (h.name !== n) continue;
      if (list) for (const v of splitCommas(h.value)) out.push(v);
      else out.push(h.value);
    }
    return out;
  }

  /** Replace every line of this header with one line holding `value`. */
  set(name: string, value: string): void {
    const n = normalizeHeaderName(name);
    const i = this.headers.findIndex((h) => h.name === n);
    if (i === -1) { this.headers.push(field(n, value)); return; }
    this.headers[i] = field(n, value);
    this.headers = this.headers.filter((h, j) => j <= i || h.name !== n);
  }

  append(name: string, value: string): void {
    this.headers.push(field(normalizeHeaderName(name), value));
  }

  /** Insert as the first line of its name (or first line of the message if none exists yet). */
  prepend(name: string, value: string): void {
    const n = normalizeHeaderName(name);
    const i = this.headers.findIndex((h) => h.name === n);
    this.headers.splice(i === -1 ? 0 : i, 0, field(n, value));
  }

  remove(name: string): void {
    const n = normalizeHeaderName(name);
    this.headers = this.headers.filter((h) => h.name !== n);
  }

  /** Remove and return the first value of a list header (the top Via, the top Route). */
  shift(name: string): string | undefined {
    const n = normalizeHeaderName(name);
    const i = this.headers.findIndex((h) => h.name === n);
    if (i === -1) return undefined;
    const h = this.headers[i]!;
    const values = splitCommas(h.value);
    const first = values.shift();
    if (values.length === 0) this.headers.splice(i, 1);
    else this.headers[i] = field(n, values.join(', '));
    return first;
  }

  /** Rewrite the first value of a list header in place (the top Via after received/rport). */
  replaceFirstValue(name: string, value: string): void {
    const n = normalizeHeaderName(name);
    const i = this.headers.findIndex((h) => h.name === n);
    if (i === -1) { this.headers.unshift(field(n, value)); return; }
    const values = splitCommas(this.headers[i]!.value);
    values[0] = value;
    this.headers[i] = field(n, values.join(', '));
  }

  get callId(): string {
    return this.get('call-id') ?? '';
  }

  cseq(): CSeq {
    const v = this.get('cseq') ?? '';
    let sp = v.indexOf(' ');
    const tab = v.indexOf('\t');
    if (tab !== -1 && (sp === -1 || tab < sp)) sp = tab;
    return { seq: Number(v.slice(0, sp)), method: v.slice(sp).trim() };
  }

  topVia(): Via | undefined {
    // the first value of the first Via line; split on commas only when that line has any
    for (const h of this.headers) {
      if (h.name !== 'via') continue;
      const v = h.value.indexOf(',') === -1 ? h.value : splitCommas(h.value)[0];
      if (v !== undefined && v !== '') return parseVia(v);
    }
    const v = this.getAll('via')[0];
    return v === undefined ? undefined : parseVia(v);
  }

  toBuffer(): Buffer {
    let s = this.isRequest ? `${this.method} ${this.uri} SIP/2.0\r\n` : `SIP/2.0 ${this.status} ${this.reason}\r\n`;
    let hasLength = false;
    for (const h of this.headers) {
      if (h.name === 'content-length') { hasLength = true; s += `Content-Length: ${this.body.length}\r\n`; continue; }
      s += h.line !== undefined ? `${h.line}\r\n` : `${canonicalHeaderName(h.name)}: ${h.value}\r\n`;
    }
    // Every message we send carries Content-Length: required on streams, harmless on UDP.
    if (!hasLength) s += `Content-Length: ${this.body.length}\r\n`;
    s += '\r\n';
    // one allocation: header text (latin1 keeps the received bytes) then the body. An ArrayBuffer of
    // its own, not a slice of Node's 8 KB pool: a transaction keeping it for retransmission would
    // keep the whole slab alive, and postMessage to the main thread would clone the whole slab.
    const out = Buffer.allocUnsafeSlow(s.length + this.body.length);
    out.write(s, 0, 'latin1');
    if (this.body.length > 0) this.body.copy(out, s.length);
    return out;
  }

  clone(): SipMessage {
    return new SipMessage({
      isRequest: this.isRequest, method: this.method, uri: this.uri, status: this.status,
      reason: this.reason, headers: this.headers.map((h) => ({ ...h })), body: this.body,
    });
  }
}

const EMPTY = Buffer.alloc(0);

function field(name: string, value: string): HeaderField {
  return { name, value, line: undefined };
}
