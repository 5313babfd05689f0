// Counters of one shard; plain numbers so a snapshot is a cheap structured clone to the main thread.
import type { ForwardReason } from '../policy/forwarding.js';

const FORWARD_COUNTER = {
  'unconditional': 'forwardsUnconditional', 'user-busy': 'forwardsUserBusy', 'no-answer': 'forwardsNoAnswer',
  'unavailable': 'forwardsUnavailable', 'deflection': 'forwardsDeflection',
} as const satisfies Record<ForwardReason, string>;
import { CALL_SETUP_BOUNDS_MS, Histogram } from '../metrics/histogram.js';

export class ShardStats {
  messagesIn = 0;
  messagesOut = 0;
  requestsIn = 0;
  responsesIn = 0;
  parseErrors = 0;
  badRequests = 0;
  dropped = 0;
  internalErrors = 0;
  retransmissionsAbsorbed = 0;
  requestsForwarded = 0;
  responsesForwardedStateless = 0;
  /** responses to our branches with no Via but ours (nowhere upstream to relay them): dropped */
  responsesWithoutUpstreamVia = 0;
  responses1xx = 0;
  responses2xx = 0;
  responses3xx = 0;
  responses4xx = 0;
  responses5xx = 0;
  responses6xx = 0;
  registrations = 0;
  // call forwarding: hops by RFC 5806 reason, 181s sent, calls stopped by a loop or the hop limit
  forwardsUnconditional = 0;
  forwardsUserBusy = 0;
  forwardsNoAnswer = 0;
  forwardsUnavailable = 0;
  forwardsDeflection = 0;
  forwarding181Sent = 0;
  forwardingLoops = 0;
  forwardingHopLimits = 0;

  countForward(reason: ForwardReason): void {
    this[FORWARD_COUNTER[reason]]++;
  }
  /** initial INVITEs forwarded (one per call attempt, whatever the forking) */
  callsAttempted = 0;
  /** initial INVITEs whose first 2xx went upstream */
  callsAnswered = 0;
  /** INVITE received to first 2xx sent upstream, ms */
  readonly callSetupMs = new Histogram(CALL_SETUP_BOUNDS_MS);
  /** confirmed dialogs this shard took over from a crashed predecessor */
  dialogsRestored = 0;
  /** confirmed dialogs this shard took over from another after a change of worker count */
  dialogsImported = 0;
  /** confirmed dialogs this shard handed to another after a change of worker count */
  dialogsHandedOff = 0;
  /** messages for a Call-ID that had left this shard, sent back to the main thread */
  lateRedispatched = 0;
  /** digest checks that failed (wrong password, unknown user, someone else's AOR) */
  authFailures = 0;
  /** relay policy: requests for outside our domains refused 403 (untrusted source, From not ours) */
  relayForbidden = 0;
  /** relay policy: such requests challenged 407 (untrusted source, From in our domains) */
  relayChallenged = 0;
  /** peers in 100rel `auto` mode switched to disable by a refused PRACK */
  rel100Learned = 0;

  countResponse(status: number): void {
    switch (Math.floor(status / 100)) {
      case 1: this.responses1xx++; break;
      case 2: this.responses2xx++; break;
      case 3: this.responses3xx++; break;
      case 4: this.responses4xx++; break;
      case 5: this.responses5xx++; break;
      default: this.responses6xx++;
    }
  }

  callAnswered(setupMs: number): void {
    this.callsAnswered++;
    this.callSetupMs.observe(setupMs);
  }

  /** The plain counters (histograms travel separately). */
  snapshot(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [k, v] of Object.entries(this)) if (typeof v === 'number') out[k] = v;
    return out;
  }
}
