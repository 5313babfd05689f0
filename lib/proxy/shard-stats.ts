// Counters of one shard; plain numbers so a snapshot is a cheap structured clone to the main thread.

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
  responses1xx = 0;
  responses2xx = 0;
  responses3xx = 0;
  responses4xx = 0;
  responses5xx = 0;
  responses6xx = 0;
  registrations = 0;
  /** confirmed dialogs this shard took over from a crashed predecessor */
  dialogsRestored = 0;
  /** digest checks that failed (wrong password, unknown user, someone else's AOR) */
  authFailures = 0;

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

  snapshot(): Record<string, number> {
    return Object.assign({}, this) as unknown as Record<string, number>;
  }
}
