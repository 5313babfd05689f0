// Via branch values we write: the RFC 3261 magic cookie, a loop-detection hash of the fields that
// decide routing (RFC 3261 16.6 step 8, RFC 5393), and a per-shard counter for uniqueness.
import { createHash, randomBytes } from 'node:crypto';
import type { SipMessage } from '../sip/message.js';
import { MAGIC_COOKIE } from '../sip/via.js';

export class BranchGenerator {
  private counter = 0;
  private readonly prefix: string;

  constructor(shardId: number) {
    this.prefix = `${MAGIC_COOKIE}-${shardId.toString(36)}${randomBytes(3).toString('hex')}`;
  }

  /** `z9hG4bK-<shard><rand>.<loophash>.<n>` */
  next(loopHash: string): string {
    return `${this.prefix}.${loopHash}.${(this.counter++).toString(36)}`;
  }
}

/**
 * Hash of what would make a request take the same path again: if a request carries our own Via with
 * the same hash, it has come back to us unchanged: a loop, not a spiral (RFC 3261 16.3 step 4).
 */
export function loopHash(req: SipMessage): string {
  const h = createHash('sha1');
  h.update(req.uri);
  h.update('|');
  h.update(req.get('from') ?? '');
  h.update('|');
  h.update(req.callId);
  h.update('|');
  h.update(String(req.cseq().seq));
  h.update('|');
  h.update(req.getAll('route').join(','));
  h.update('|');
  h.update(req.getAll('proxy-require').join(','));
  return h.digest('base64url').slice(0, 10);
}

/** The loop hash inside one of our branches, if it is ours. */
export function loopHashOfBranch(branch: string): string | undefined {
  if (!branch.startsWith(`${MAGIC_COOKIE}-`)) return undefined;
  const parts = branch.split('.');
  return parts.length === 3 ? parts[1] : undefined;
}

/** A stateless forward (2xx ACK, CANCEL with no context) gets a branch derived from the incoming one,
 *  so retransmissions keep one branch downstream (RFC 3261 16.11). */
export function statelessBranch(incomingBranch: string | undefined, req: SipMessage): string {
  const h = createHash('sha1').update(incomingBranch ?? `${req.callId}|${req.cseq().seq}|${req.method}`).digest('base64url');
  return `${MAGIC_COOKIE}-sl.${h.slice(0, 16)}`;
}
