// Incremental SIP-over-stream framer (TCP now, TLS later), a small state machine in the shape of
// ws's receiver: it consumes whatever bytes arrived and keeps the rest. RFC 3261 18.3: on a stream
// the Content-Length header is mandatory and delimits the body.
import { createError, type SipProxyError } from '../errors.js';
import { compileHeaderName, peekHeader } from '../shard/callid-peek.js';

export interface StreamFramerOptions {
  maxMessageBytes: number;
  onMessage(buf: Buffer): void;
  /** RFC 5626 3.5.1 double-CRLF ping; the transport answers with a single CRLF. */
  onKeepAlive(): void;
  /** Called once; the framer then ignores further input and the stream should be closed. */
  onError(err: SipProxyError): void;
}

const LF = 0x0a;
const CR = 0x0d;
const CONTENT_LENGTH = compileHeaderName('Content-Length', 'l');
const DIGITS = /^[0-9]{1,10}$/;

// States.
const BETWEEN = 0; // skipping CR/LF between messages, counting keep-alive pings
const HEADERS = 1; // looking for the empty line that ends the header section
const BODY = 2; // waiting until `need` bytes are buffered
const FAILED = 3;

export class StreamFramer {
  private readonly max: number;
  private readonly onMessage: (buf: Buffer) => void;
  private readonly onKeepAlive: () => void;
  private readonly onError: (err: SipProxyError) => void;

  private state = BETWEEN;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** LFs seen in a row between messages; two make a keep-alive ping. */
  private lfRun = 0;
  // Header scan position, kept across pushes so no byte is scanned twice: every chunk before
  // scanChunk (`scanned` bytes) is done, and the current line has `lineBytes` bytes so far.
  private scanChunk = 0;
  private scanned = 0;
  private lineBytes = 0;
  private lastByte = 0;
  /** Total length of the message being framed, once its header section is complete. */
  private need = 0;

  constructor(opts: StreamFramerOptions) {
    if (!Number.isInteger(opts.maxMessageBytes) || opts.maxMessageBytes <= 0) {
      throw new TypeError('maxMessageBytes must be a positive integer');
    }
    this.max = opts.maxMessageBytes;
    this.onMessage = opts.onMessage;
    this.onKeepAlive = opts.onKeepAlive;
    this.onError = opts.onError;
  }

  /** Bytes received but not yet delivered as a message. */
  get bufferedBytes(): number {
    return this.buffered;
  }

  push(chunk: Buffer): void {
    if (this.state === FAILED || chunk.length === 0) return;
    this.chunks.push(chunk);
    this.buffered += chunk.length;
    while (this.step());
  }

  /** Runs the current state once; true when it made progress and another step may too. */
  private step(): boolean {
    switch (this.state) {
      case BETWEEN:
        return this.skipBetween();
      case HEADERS:
        return this.scanHeaders();
      case BODY:
        return this.emitBody();
      default:
        return false;
    }
  }

  private skipBetween(): boolean {
    while (this.chunks.length > 0) {
      const chunk = this.chunks[0];
      let i = 0;
      while (i < chunk.length) {
        const b = chunk[i];
        if (b === LF) {
          if (++this.lfRun === 2) {
            this.lfRun = 0;
            this.onKeepAlive();
          }
        } else if (b !== CR) {
          break;
        }
        i++;
      }
      const found = i < chunk.length;
      this.consumeFront(i);
      if (found) {
        this.lfRun = 0;
        this.startHeaders();
        return true;
      }
    }
    return false;
  }

  private startHeaders(): void {
    this.state = HEADERS;
    this.scanChunk = 0;
    this.scanned = 0;
    this.lineBytes = 0;
    this.lastByte = 0;
  }

  private scanHeaders(): boolean {
    while (this.scanChunk < this.chunks.length) {
      const chunk = this.chunks[this.scanChunk];
      let pos = 0;
      while (pos < chunk.length) {
        const lf = chunk.indexOf(LF, pos);
        if (lf === -1) {
          this.lineBytes += chunk.length - pos;
          this.lastByte = chunk[chunk.length - 1];
          pos = chunk.length;
          break;
        }
        const lineBytes = this.lineBytes + (lf - pos);
        const prev = lf > pos ? chunk[lf - 1] : this.lastByte;
        pos = lf + 1;
        if (lineBytes === 0 || (lineBytes === 1 && prev === CR)) {
          return this.headersComplete(this.scanned + pos);
        }
        this.lineBytes = 0;
      }
      this.scanned += chunk.length;
      this.scanChunk++;
    }
    if (this.buffered > this.max) return this.fail('SIP_ERR_TOO_LARGE', `header section exceeds ${this.max} bytes`);
    return false;
  }

  private headersComplete(headerBytes: number): boolean {
    if (headerBytes > this.max) return this.fail('SIP_ERR_TOO_LARGE', `header section exceeds ${this.max} bytes`);
    const head = this.contiguous(headerBytes);
    const value = peekHeader(head.subarray(0, headerBytes), CONTENT_LENGTH);
    if (value === undefined) return this.fail('SIP_ERR_FRAMING', 'message on a stream without Content-Length');
    if (!DIGITS.test(value)) return this.fail('SIP_ERR_FRAMING', `invalid Content-Length: ${JSON.stringify(value)}`);
    const need = headerBytes + Number(value);
    if (need > this.max) return this.fail('SIP_ERR_TOO_LARGE', `message of ${need} bytes exceeds ${this.max}`);
    this.need = need;
    this.state = BODY;
    return true;
  }

  private emitBody(): boolean {
    if (this.buffered < this.need) return false;
    const msg = this.take(this.need);
    this.state = BETWEEN;
    this.onMessage(msg);
    return true;
  }

  private fail(code: 'SIP_ERR_FRAMING' | 'SIP_ERR_TOO_LARGE', message: string): boolean {
    this.state = FAILED;
    this.chunks = [];
    this.buffered = 0;
    this.onError(createError(code, message));
    return false;
  }

  /** First chunk holding at least n bytes, merging buffered chunks when the bytes are split. */
  private contiguous(n: number): Buffer {
    if (this.chunks[0].length < n) this.chunks = [Buffer.concat(this.chunks, this.buffered)];
    return this.chunks[0];
  }

  /** Removes and returns the first n buffered bytes (a view when they lie in one chunk). */
  private take(n: number): Buffer {
    const first = this.chunks[0];
    if (first.length >= n) {
      const out = first.subarray(0, n);
      this.consumeFront(n);
      return out;
    }
    const out = Buffer.allocUnsafe(n);
    let copied = 0;
    while (copied < n) {
      const chunk = this.chunks[0];
      const part = Math.min(chunk.length, n - copied);
      chunk.copy(out, copied, 0, part);
      copied += part;
      this.consumeFront(part);
    }
    return out;
  }

  /** Drops n bytes from the front of the first chunk. */
  private consumeFront(n: number): void {
    const first = this.chunks[0];
    if (n === first.length) this.chunks.shift();
    else if (n > 0) this.chunks[0] = first.subarray(n);
    this.buffered -= n;
  }
}
