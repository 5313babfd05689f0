// The proxy's response context (RFC 3261 16.7): the branches of one forwarded request, what each
// answered, and which final response goes upstream.
import type { Dialog } from '../dialog/dialog-table.js';
import type { CallerSide } from './accepted-invite.js';
import type { Leg } from '../peers/peer-legs.js';
import type { SipMessage } from '../sip/message.js';
import type { InviteClientTxn } from '../txn/invite-client.js';
import type { InviteServerTxn } from '../txn/invite-server.js';
import type { NonInviteClientTxn } from '../txn/non-invite-client.js';
import type { NonInviteServerTxn } from '../txn/non-invite-server.js';
import type { Timer } from '../txn/timers.js';
import type { Target } from './routing.js';
import type { AcceptedInvite } from './accepted-invite.js';

/** A server transaction of the core: its `owner` is its response context while one is held. */
export type ServerTxn = InviteServerTxn<ResponseContext> | NonInviteServerTxn<ResponseContext>;
/** A client transaction of the core: its `owner` is its branch, or once the context is settled
 *  with a 2xx, what relays further 2xx (RFC 6026 7.2); undefined for a CANCEL and once released. */
export type ClientTxn = InviteClientTxn<ClientOwner> | NonInviteClientTxn<ClientOwner>;
export type ClientOwner = Branch | AcceptedInvite;

export interface Branch {
  ctx: ResponseContext;
  txn: ClientTxn | undefined; // undefined while the next hop resolves
  request: SipMessage;
  gotProvisional: boolean;
  final: SipMessage | undefined;
  /** CANCEL wanted but no provisional yet (RFC 3261 9.1: wait for one). */
  cancelPending: boolean;
  cancelled: boolean;
  timerC: Timer | undefined;
  /** the caller's side of this branch's dialogs, worked out at its first 1xx/2xx with a To tag */
  caller?: CallerSide;
  /** the dialog this branch's last 1xx/2xx with a To tag created or confirmed: the next answer's
   *  likely one, and the caller side a settled context keeps (the same for every dialog of a branch) */
  dialog: Dialog | undefined;
  /** set when the request goes to a line or trunk (PeerLegs) */
  peer?: BranchPeer;
}

export interface BranchPeer {
  leg: Leg;
  /** the dialog-creating request of the leg (not an in-dialog one) */
  initial: boolean;
  /** the copy before our Via and Record-Route: what a re-sent request starts from */
  base: SipMessage;
  /** already re-sent once with credentials */
  authRetried: boolean;
}

export class ResponseContext {
  readonly branches: Branch[] = [];
  /** A 2xx went upstream (INVITE: more 2xx may follow) or any final (non-INVITE). */
  answered = false;
  finalSent = false;
  cancelled = false;
  /** targets still to try, one at a time, if the current ones fail (trunk failover) */
  alternates: Target[] = [];
  /** a branch's copy went out with another CSeq or From: responses get the caller's back */
  restoreUpstream = false;
  /** a peer in 100rel `disable` mode could not take this Require: 100rel call (lib/policy/rel100.ts) */
  rel100Refused = false;
  /** when an initial INVITE arrived (ms), for the call setup histogram; undefined for others */
  callStartedAt: number | undefined;

  constructor(
    readonly request: SipMessage,
    readonly server: ServerTxn,
  ) {}

  get isInvite(): boolean {
    return this.request.method === 'INVITE';
  }

  allFinal(): boolean {
    for (const b of this.branches) if (b.final === undefined) return false;
    return true;
  }
}

function rank(status: number): number {
  // RFC 3261 16.7 step 6: 6xx beats all; otherwise the lowest class wins (3xx < 4xx < 5xx).
  if (status >= 600) return 0;
  return status;
}

/** The best final response among branches (RFC 3261 16.7 step 6), or undefined when there is none. */
export function bestResponse(branches: readonly Branch[]): SipMessage | undefined {
  let best: SipMessage | undefined;
  for (const b of branches) {
    const f = b.final;
    if (f === undefined) continue;
    if (best === undefined || classRank(f.status) < classRank(best.status) || preferWithinClass(f.status, best.status)) best = f;
  }
  return best;
}

function classRank(status: number): number {
  return Math.floor(rank(status) / 100);
}

// Within 4xx, a challenge (401/407) or a cancel (487) says more than a timeout (408).
function preferWithinClass(candidate: number, current: number): boolean {
  return Math.floor(candidate / 100) === Math.floor(current / 100) && current === 408 && candidate !== 408;
}

/** Challenges from every 401/407 branch go upstream together (RFC 3261 16.7 step 7). */
export function collectChallenges(branches: readonly Branch[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const b of branches) {
    const f = b.final;
    if (f === undefined || (f.status !== 401 && f.status !== 407)) continue;
    for (const v of f.getAll('www-authenticate')) out.push(['WWW-Authenticate', v]);
    for (const v of f.getAll('proxy-authenticate')) out.push(['Proxy-Authenticate', v]);
  }
  return out;
}
