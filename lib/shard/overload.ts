// Overload answers made on the main thread: a shard's in-flight bound is reached, so a new INVITE
// gets 503 + Retry-After at once instead of queueing without bound (DESIGN.md hot-path rules).
import { parseMessage } from '../sip/parser.js';
import { buildResponse } from '../sip/response.js';
import { canAnswer } from '../sip/validate.js';

const INVITE = Buffer.from('INVITE ');

export function isInitialInvite(data: Buffer): boolean {
  if (data.length < 7 || data.compare(INVITE, 0, 7, 0, 7) !== 0) return false;
  return !/\r\n(?:To|t)[ \t]*:[^\r\n]*;[ \t]*tag[ \t]*=/i.test(data.toString('latin1', 0, Math.min(data.length, 4096)));
}

/** The 503 for an INVITE refused under overload, or undefined when none can be built. */
export function overloadResponse(data: Buffer, retryAfterSeconds: number): Buffer | undefined {
  try {
    const { message, defect } = parseMessage(data);
    if (defect !== undefined || !canAnswer(message)) return undefined;
    return buildResponse(message, 503, { toTag: 'ovl', headers: [['Retry-After', String(retryAfterSeconds)]] }).toBuffer();
  } catch {
    return undefined;
  }
}
