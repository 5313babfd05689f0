// 100rel (RFC 3262) per line and trunk (seed point 9). Transparent by default: reliable 1xx, PRACK
// and UPDATE are relayed like any other provisional or in-dialog request. `disable` keeps 100rel
// away from a peer; `auto` learns `disable` when the peer rejects a PRACK (the seed's carrier sent
// 183 with Require: 100rel, then answered the PRACK with 405). Pure: the proxy core calls these at
// the start of a branch to a peer and on each PRACK response; the shard owns the learned state.
import type { SipMessage } from '../sip/message.js';
import type { Rejection } from '../proxy/request-checks.js';

export const REL100_MODES = ['passthrough', 'disable', 'auto'] as const;
export type Rel100Mode = (typeof REL100_MODES)[number];

/** A peer in `auto` mode that rejected a PRACK: when (ms since epoch) and with which status. */
export interface Rel100Learned { peer: string; learnedAt: number; status: number }

/** What a peer's INVITEs get: `auto` is passthrough until a disable has been learned. */
export function effectiveRel100(configured: Rel100Mode, learned: boolean): 'passthrough' | 'disable' {
  return configured === 'disable' || configured === 'auto' && learned ? 'disable' : 'passthrough';
}

function tags(value: string): string[] {
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '');
}

/** The request lists 100rel in Require (RFC 3262 3: the caller insists on reliable provisionals). */
export function requires100rel(req: SipMessage): boolean {
  return req.getAll('require').some((v) => tags(v).some((t) => t.toLowerCase() === '100rel'));
}

/** Remove 100rel from Supported (compact `k` too); the other tags stay in order in one header, none left: no header. */
export function strip100rel(req: SipMessage): void {
  const values = req.getAll('supported');
  if (!values.some((v) => tags(v).some((t) => t.toLowerCase() === '100rel'))) return;
  const kept = values.flatMap(tags).filter((t) => t.toLowerCase() !== '100rel');
  req.remove('supported');
  if (kept.length > 0) req.append('Supported', kept.join(', '));
}

/** RFC 3261 8.2.2.3: the caller requires an extension the peer must not get. */
export const REL100_REJECTION: Rejection = { status: 420, reason: 'Bad Extension', headers: [['Unsupported', '100rel']] };

/** RFC 3262 has no other reading of a PRACK answered 405 or 501: the peer does not do PRACK. */
export function isPrackRefusal(method: string, status: number): boolean {
  return method === 'PRACK' && (status === 405 || status === 501);
}
