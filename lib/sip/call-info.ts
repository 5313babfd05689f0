// Call-Info (RFC 3261 20.9) in both forms met on the wire: the RFC's `<uri>;purpose=icon, ...` and
// the forwarding notice of miniSIPServer-style servers, `purpose=forwarding, username="b",
// contact="c"`, which has no <uri> and whose commas separate parameters of one notice, not values.
import { parseParams, quote, splitOutside, unquote } from './split.js';

export interface CallInfo {
  /** the <uri> of an RFC 3261 entry; undefined for the forwarding notice */
  uri: string | undefined;
  /** parameter names lower-case, values unquoted */
  params: Map<string, string>;
}

/**
 * Every entry of Call-Info header values in message order: header lines, or SipMessage.getAll's
 * comma split of them (a notice split into its parameters is joined again). Never throws: text it
 * cannot read is skipped.
 */
export function parseCallInfo(values: string | readonly string[]): CallInfo[] {
  const out: CallInfo[] = [];
  let notice: CallInfo | undefined;
  for (const value of typeof values === 'string' ? [values] : values) {
    for (const part of splitOutside(value, 0x2c)) {
      if (part.startsWith('<')) {
        const gt = part.indexOf('>');
        if (gt === -1) continue;
        notice = undefined;
        out.push({ uri: part.slice(1, gt).trim(), params: paramMap(part.slice(gt + 1).replace(/^\s*;/, '')) });
        continue;
      }
      // bare `name=value`: a parameter of the notice being read (the first one opens it)
      const params = paramMap(part);
      if (notice === undefined) {
        notice = { uri: undefined, params };
        out.push(notice);
      } else {
        for (const [k, v] of params) notice.params.set(k, v);
      }
    }
  }
  return out;
}

function paramMap(text: string): Map<string, string> {
  const m = new Map<string, string>();
  for (const [k, v] of parseParams(text)) m.set(k, v === null ? '' : unquote(v));
  return m;
}

/** The forwarding notice of a 181: `purpose=forwarding, username="<who>", contact="<target>"`. */
export function formatForwardingCallInfo(username: string, contact: string): string {
  return `purpose=forwarding, username=${quote(username)}, contact=${quote(contact)}`;
}

/** The forwarding notice among Call-Info entries, if any. */
export function forwardingNotice(entries: readonly CallInfo[]): { username: string; contact: string } | undefined {
  for (const e of entries) {
    if (e.uri === undefined && e.params.get('purpose') === 'forwarding') {
      return { username: e.params.get('username') ?? '', contact: e.params.get('contact') ?? '' };
    }
  }
  return undefined;
}
