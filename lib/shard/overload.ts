// Overload answers made on the main thread: a shard's in-flight bound is reached, or the proxy as a
// whole is overloaded (overload-control.ts), so new work gets 503 + Retry-After at once instead of
// queueing without bound (DESIGN.md hot-path rules).
import { parseMessage } from '../sip/parser.js';
import { buildResponse } from '../sip/response.js';
import { canAnswer } from '../sip/validate.js';
import { compileHeaderName, peekHeader, peekIsResponse } from './callid-peek.js';

const INVITE = Buffer.from('INVITE ');

/** The request line says INVITE (initial or re-INVITE). */
export function isInvite(data: Buffer): boolean {
  return data.length >= 7 && data[0] === 0x49 && data.compare(INVITE, 0, 7, 0, 7) === 0;
}

export function isInitialInvite(data: Buffer): boolean {
  if (!isInvite(data)) return false;
  return !/\r\n(?:To|t)[ \t]*:[^\r\n]*;[ \t]*tag[ \t]*=/i.test(data.toString('latin1', 0, Math.min(data.length, 4096)));
}

const ACK = Buffer.from('ACK ');
const CANCEL = Buffer.from('CANCEL ');
const TO = compileHeaderName('To', 't');
const TAG_PARAM = /;[ \t]*tag[ \t]*=/i;
const TAG_VALUE = /;[ \t]*tag[ \t]*=[ \t]*([^;, \t]+)/i;

function startsWith(data: Buffer, prefix: Buffer): boolean {
  return data.length >= prefix.length && data.compare(prefix, 0, prefix.length, 0, prefix.length) === 0;
}

/**
 * New work a loaded proxy may refuse: an out-of-dialog request (no To tag) other than ACK and
 * CANCEL. Responses, in-dialog requests, ACK and CANCEL belong to calls already accepted and must
 * flow so those complete. Byte checks only; the To header is peeked, not parsed.
 */
export function isNewWork(data: Buffer): boolean {
  if (peekIsResponse(data) || startsWith(data, ACK) || startsWith(data, CANCEL)) return false;
  const to = peekHeader(data, TO);
  if (to === undefined) return true;
  // a tag inside a quoted display name or the URI is not the To tag: look after the closing '>'
  const gt = to.lastIndexOf('>');
  return !TAG_PARAM.test(gt === -1 ? to : to.slice(gt + 1));
}

/** To tag of the 503s made here: the ACK that answers one is ours to absorb (isAckOfRefusal). */
const REFUSAL_TAG = 'sipshard-503';

/** The ACK of a 503 made here (RFC 3261 17.2.1: the UAS absorbs the ACK of its non-2xx final). */
export function isAckOfRefusal(data: Buffer): boolean {
  if (!startsWith(data, ACK)) return false;
  const to = peekHeader(data, TO);
  if (to === undefined) return false;
  const gt = to.lastIndexOf('>');
  const params = gt === -1 ? to : to.slice(gt + 1);
  return TAG_VALUE.exec(params)?.[1] === REFUSAL_TAG;
}

/** The 503 for an INVITE refused under overload, or undefined when none can be built. */
export function overloadResponse(data: Buffer, retryAfterSeconds: number): Buffer | undefined {
  try {
    const { message, defect } = parseMessage(data);
    if (defect !== undefined || !canAnswer(message)) return undefined;
    return buildResponse(message, 503, { toTag: REFUSAL_TAG, headers: [['Retry-After', String(retryAfterSeconds)]] }).toBuffer();
  } catch {
    return undefined;
  }
}
