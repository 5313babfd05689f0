// Call-forwarding policy: pure decisions the proxy core asks for at named points (a hop ended, a
// phone redirected, a hop is about to start) and the header values a forwarded call carries.
// It never sends anything; lib/proxy/forwarding-hops.ts owns the hops of a call.
import { parseNameAddr, nameAddrParam } from '../sip/name-addr.js';
import type { SipMessage } from '../sip/message.js';
import { REASONS } from '../sip/response.js';
import { escapeUser, parseUri, unescapeUser, type SipUri } from '../sip/uri.js';
import type { Rejection } from '../proxy/request-checks.js';
import type { ForwardTarget, UserForwarding } from './forwarding-table.js';

/** RFC 5806 section 4 diversion-reason values we produce. */
export type ForwardReason = 'unconditional' | 'user-busy' | 'no-answer' | 'unavailable' | 'deflection';

export const FORWARD_REASONS: readonly ForwardReason[] = ['unconditional', 'user-busy', 'no-answer', 'unavailable', 'deflection'];

export interface ForwardingOptions {
  /** most diversions of one call, counting those announced by upstream Diversion headers */
  maxHops: number;
  /** send 181 Call Is Being Forwarded with the Call-Info notice per hop */
  send181: boolean;
  /** recurse on 3xx from a callee (RFC 3261 16.7 step 5 and 8.1.3.4) */
  followRedirects: boolean;
  /** add Diversion (RFC 5806) to forwarded INVITEs */
  diversion: boolean;
  /** add History-Info (RFC 7044) to forwarded INVITEs */
  historyInfo: boolean;
}

export interface ForwardStep {
  reason: ForwardReason;
  target: ForwardTarget;
}

/** A hop ended with `status` (no 2xx): the rule of the user that applies, if any. */
export function forwardOnFinal(status: number, rules: Readonly<UserForwarding> | undefined): ForwardStep | undefined {
  if (rules === undefined) return undefined;
  if ((status === 486 || status === 600) && rules.busy !== undefined) return { reason: 'user-busy', target: rules.busy };
  if ((status === 408 || status === 480 || status === 503) && rules.unavailable !== undefined) return { reason: 'unavailable', target: rules.unavailable };
  return undefined;
}

/**
 * The Contacts of a 3xx to try, highest q first (RFC 3261 8.1.3.4), equal q in the order given;
 * SIP URIs only, each once, none with expires=0.
 */
export function redirectTargets(res: SipMessage): string[] {
  const found: Array<{ uri: string; q: number; i: number }> = [];
  const seen = new Set<string>();
  res.getAll('contact').forEach((value, i) => {
    try {
      const na = parseNameAddr(value);
      const scheme = parseUri(na.uri).scheme;
      if (scheme !== 'sip' && scheme !== 'sips') return;
      if (nameAddrParam(na, 'expires') === '0' || seen.has(na.uri)) return;
      seen.add(na.uri);
      const q = Number(nameAddrParam(na, 'q') ?? '1');
      found.push({ uri: na.uri, q: Number.isFinite(q) ? q : 1, i });
    } catch {
      // an unreadable Contact is one target less, not a failed call
    }
  });
  return found.sort((a, b) => b.q - a.q || a.i - b.i).map((c) => c.uri);
}

/** A configured target as a Request-URI: a bare name or number is a user of our first domain. */
export function targetUri(target: ForwardTarget, domain: string): string {
  return /^sips?:/i.test(target) ? target : `sip:${escapeUser(target)}@${domain}`;
}

/** What a call was aimed at, for cycle detection: the local user, or the URI without parameters. */
export function visitKey(uri: SipUri, localUser: string | undefined): string {
  if (localUser !== undefined) return `user:${localUser}`;
  const port = uri.port === undefined ? '' : `:${uri.port}`;
  return `${uri.scheme}:${uri.user === undefined ? '' : `${unescapeUser(uri.user)}@`}${uri.host}${port}`;
}

/** The name shown in the Call-Info notice: the user part when there is one, else the URI. */
export function labelOf(uri: string): string {
  try {
    const u = parseUri(uri);
    return u.user === undefined ? uri : unescapeUser(u.user);
  } catch {
    return uri;
  }
}

/**
 * RFC 5806 section 4: one entry per diverting user, newest on top. counter is the number of
 * diversions this entry stands for (1: each of our hops gets its own entry), so the sum of the
 * counters is the diversions of the call so far.
 */
export function diversionValue(divertingUri: string, reason: ForwardReason): string {
  return `<${divertingUri}>;reason=${reason};counter=1`;
}

/** Diversions announced by Diversion headers that arrived with the request (sum of counters). */
export function diversionsSoFar(values: readonly string[]): number {
  let n = 0;
  for (const v of values) {
    const m = /;\s*counter\s*=\s*([0-9]{1,2})/i.exec(v);
    n += m === null ? 1 : Math.max(1, Number(m[1]));
  }
  return n;
}

/** The SIP status a diversion reason stands for in History-Info's Reason (RFC 4458 section 3.2). */
export function causeOf(reason: ForwardReason, status: number | undefined): number {
  if (status !== undefined && status >= 300) return status;
  switch (reason) {
    case 'user-busy': return 486;
    case 'no-answer': return 408;
    case 'unavailable': return 480;
    default: return 302;
  }
}

const REDIRECT_TEXT: Readonly<Record<number, string>> = { 300: 'Multiple Choices', 301: 'Moved Permanently', 302: 'Moved Temporarily', 305: 'Use Proxy', 380: 'Alternative Service' };

/** Reason text of a cause (a forward before any phone rang is a 302 in History-Info terms). */
export function causeText(cause: number): string {
  return REASONS[cause] ?? REDIRECT_TEXT[cause] ?? 'Forwarded';
}

/** The final response of a call whose forwarding went round in a circle (B -> C -> B). */
export function loopRejection(path: readonly string[]): Rejection {
  return { status: 482, reason: 'Loop Detected', headers: [['Reason', `SIP;cause=482;text="Call forwarding loop: ${path.join(' -> ').replace(/["\\]/g, '')}"`]] };
}

/** The final response of a call that would take more forwarding hops than allowed. */
export function hopLimitRejection(maxHops: number): Rejection {
  return { status: 480, reason: 'Temporarily Unavailable', headers: [['Reason', `SIP;cause=480;text="Too many forwarding hops (limit ${maxHops})"`]] };
}
