// Location-service records. Plain data only: bindings cross threads (postMessage structured
// clone) and go to disk (msgpackr), so no classes, Maps or functions in the records.

/** Where a REGISTER came from: the proxy routes to NATed phones by this, not by the Contact. */
export interface ContactSource {
  transport: 'udp' | 'tcp' | 'tls';
  address: string;
  port: number;
  /** connection the REGISTER arrived on (stream transports; 0 for UDP) */
  connId: number;
}

export interface Binding {
  /** Contact URI as the user agent wrote it */
  contact: string;
  /** ms since epoch */
  expiresAt: number;
  /** 0..1 (RFC 3261 20.10); 1 when the Contact had no q */
  q: number;
  callId: string;
  cseq: number;
  source: ContactSource;
  /** ms since epoch of the REGISTER that last refreshed it: the "newest" tie-break after q */
  updatedAt?: number;
  /** RFC 5626 +sip.instance, unquoted */
  instance?: string;
  /** RFC 5626 reg-id */
  regId?: number;
  /** RFC 3327 Path values, in the order received */
  path?: string[];
  userAgent?: string;
}

/** The complete new binding set of one address-of-record (empty: none left). */
export interface BindingUpdate {
  aor: string;
  bindings: Binding[];
}

/** Two Path lists (RFC 3327) are the same: both absent, or the same values in the same order. */
export function samePath(a: readonly string[] | undefined, b: readonly string[] | undefined): boolean {
  if (a === undefined || b === undefined) return a === b;
  return a.length === b.length && a.every((p, i) => p === b[i]);
}
