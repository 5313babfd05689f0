// Via branch values we write: the RFC 3261 magic cookie, a loop-detection hash of the fields that
// decide routing (RFC 3261 16.6 step 8, RFC 5393), and a per-shard counter for uniqueness.
import { randomBytes } from 'node:crypto';
import type { SipMessage } from '../sip/message.js';
import { MAGIC_COOKIE } from '../sip/via.js';
import { fmix32, fnv1a32 } from '../shard/hash.js';

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
  // not a security boundary, just a fingerprint: two cheap 32-bit hashes instead of a digest
  const key = `${req.uri}|${req.get('from') ?? ''}|${req.callId}|${req.cseq().seq}|${req.getAll('route').join(',')}|${req.getAll('proxy-require').join(',')}`;
  const h = fnv1a32(key);
  return fmix32(h).toString(36) + fmix32(h ^ 0x9e3779b9).toString(36);
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
  const key = incomingBranch ?? `${req.callId}|${req.cseq().seq}|${req.method}`;
  const h = fnv1a32(key);
  return `${MAGIC_COOKIE}-sl.${fmix32(h).toString(36)}${fmix32(h ^ 0x85ebca6b).toString(36)}`;
}
