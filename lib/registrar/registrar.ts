// REGISTER processing (RFC 3261 10.3). Pure apart from the location store: input the request and
// where it came from, output the response and, when bindings changed, the AOR's new full binding
// set. The shard applies that to its own replica here; the caller ships the update to the main
// thread, which persists it and broadcasts it to the other shards.
import type { SipMessage } from '../sip/message.js';
import { parseNameAddr, nameAddrParam } from '../sip/name-addr.js';
import { detach } from '../sip/detach.js';
import { buildResponse } from '../sip/response.js';
import { unquote } from '../sip/split.js';
import { parseUri } from '../sip/uri.js';
import { createError } from '../errors.js';
import type { DigestAuthenticator } from './authenticator.js';
import type { Binding, BindingUpdate, ContactSource } from './binding.js';
import { findContact } from './contact-match.js';
import { canonicalAor, type LocationService } from './location-store.js';

export interface RegistrarOptions {
  domains: string[];
  /** undefined: authentication off */
  auth: DigestAuthenticator | undefined;
  users: ReadonlyMap<string, { password: string }>;
  minExpires: number;
  maxExpires: number;
  defaultExpires: number;
  /** most bindings one AOR may hold */
  maxContacts: number;
  store: LocationService;
  now: () => number;
  toTag: () => string;
}

export interface RegisterResult {
  response: SipMessage;
  /** present when the AOR's bindings changed (also when a refresh only moved expiry times) */
  update?: BindingUpdate;
  /** credentials were given and were wrong (per-source back-off counts these) */
  authFailed?: boolean;
}

/** Option tags we can honour in Require (RFC 3261 8.2.2.3); Path is stored and echoed (RFC 3327). */
const SUPPORTED_TAGS: ReadonlySet<string> = new Set(['path']);
const DELTA_RE = /^[0-9]+$/;
const Q_RE = /^(?:0(?:\.[0-9]{0,3})?|1(?:\.0{0,3})?)$/;

interface ContactRequest {
  uri: string;
  expires: number; // seconds, already clamped to maxExpires
  q: number;
  instance: string | undefined;
  regId: number | undefined;
}

export class Registrar {
  readonly #domains: ReadonlySet<string>;
  readonly #auth: DigestAuthenticator | undefined;
  readonly #users: ReadonlyMap<string, { password: string }>;
  readonly #minExpires: number;
  readonly #maxExpires: number;
  readonly #defaultExpires: number;
  readonly #maxContacts: number;
  readonly #store: LocationService;
  readonly #now: () => number;
  readonly #toTag: () => string;

  constructor(opts: RegistrarOptions) {
    const { minExpires, maxExpires, defaultExpires, maxContacts } = opts;
    if (!(Number.isInteger(minExpires) && minExpires >= 1 && minExpires <= defaultExpires && defaultExpires <= maxExpires)) {
      throw createError('SIP_ERR_CONFIG', `registrar expires must satisfy 1 <= min (${minExpires}) <= default (${defaultExpires}) <= max (${maxExpires})`);
    }
    if (!(Number.isInteger(maxContacts) && maxContacts >= 1)) throw createError('SIP_ERR_CONFIG', `registrar maxContacts must be >= 1, got ${maxContacts}`);
    this.#domains = new Set(opts.domains.map((d) => d.toLowerCase()));
    this.#auth = opts.auth;
    this.#users = opts.users;
    this.#minExpires = minExpires;
    this.#maxExpires = maxExpires;
    this.#defaultExpires = defaultExpires;
    this.#maxContacts = maxContacts;
    this.#store = opts.store;
    this.#now = opts.now;
    this.#toTag = opts.toTag;
  }

  handle(req: SipMessage, source: ContactSource): RegisterResult {
    if (req.method !== 'REGISTER') return this.#fail(req, 405, undefined, [['Allow', 'REGISTER']]);
    const unsupported = req.getAll('require').filter((tag) => !SUPPORTED_TAGS.has(tag.toLowerCase()));
    if (unsupported.length > 0) return this.#fail(req, 420, undefined, [['Unsupported', unsupported.join(', ')]]);

    // Step 5 (checked before auth so that a foreign domain is not challenged for): the AOR is the
    // To URI in canonical form.
    let toUri: string;
    try {
      toUri = parseNameAddr(req.get('to') ?? '').uri;
    } catch {
      return this.#fail(req, 400, 'Invalid To');
    }
    const aor = canonicalAor(toUri);
    if (aor === undefined) return this.#fail(req, 404, 'Not Found');
    const at = aor.lastIndexOf('@');
    const user = aor.slice(4, at);
    if (!this.#domains.has(aor.slice(at + 1))) return this.#fail(req, 404, 'Domain Not Served');

    // Steps 3-4. With auth on, an unknown user fails exactly like a wrong password (same 401, same
    // headers): only an authenticated user ever learns whether an AOR exists.
    if (this.#auth !== undefined) {
      const result = this.#auth.verify(req, false);
      if (!result.ok) {
        const r = this.#fail(req, 401, undefined, this.#auth.challengeHeaders(false, result.reason === 'stale', req.callId));
        if (result.reason === 'failed') r.authFailed = true;
        return r;
      }
      if (result.username !== user) return { ...this.#fail(req, 403, 'Not Authorized For This AOR'), authFailed: true };
    }
    if (!this.#users.has(user)) return this.#fail(req, 404, 'Not Found');

    const now = this.#now();
    const existing = this.#store.lookup(aor, now);
    const contacts = req.getAll('contact');
    if (contacts.length === 0) return { response: this.#ok(req, existing, now) }; // query (10.2.3)

    const callId = req.callId;
    const cseq = req.cseq().seq;
    if (callId === '' || !Number.isSafeInteger(cseq)) return this.#fail(req, 400, 'Invalid Call-ID or CSeq');
    let headerExpires: number | undefined;
    const expiresText = req.get('expires');
    if (expiresText !== undefined) {
      headerExpires = parseDelta(expiresText);
      if (headerExpires === undefined) return this.#fail(req, 400, 'Invalid Expires');
    }

    // Step 6: `Contact: *` removes everything, only alone and only with Expires: 0.
    if (contacts.includes('*')) {
      if (contacts.length !== 1 || headerExpires !== 0) return this.#fail(req, 400, 'Invalid Wildcard Contact');
      if (existing.some((b) => isOutOfOrder(b, callId, cseq))) return this.#fail(req, 500, 'Out Of Order CSeq');
      return this.#commit(req, { aor, bindings: [] }, now);
    }

    const wanted: ContactRequest[] = [];
    for (const value of contacts) {
      const parsed = this.#parseContact(value, headerExpires);
      if (typeof parsed === 'string') return this.#fail(req, 400, parsed);
      wanted.push(parsed);
    }
    // RFC 3261 10.3 step 7 / 20.10: 0 removes; too brief is refused as a whole (423 + Min-Expires).
    if (wanted.some((c) => c.expires > 0 && c.expires < this.#minExpires)) {
      return this.#fail(req, 423, undefined, [['Min-Expires', String(this.#minExpires)]]);
    }

    const next = [...existing];
    for (const c of wanted) {
      const i = findContact(next, c.uri);
      if (i === -1) {
        if (c.expires > 0) next.push(this.#binding(req, c, callId, cseq, source, now));
        continue;
      }
      // Step 7: a stored binding with the same Call-ID and a CSeq not below ours aborts the whole
      // update, and "the request fails": nothing is committed (all or nothing) and we answer 500.
      // (An earlier Contact of this same request may have put next[i] there: no check then.)
      if (existing.includes(next[i]!) && isOutOfOrder(next[i]!, callId, cseq)) return this.#fail(req, 500, 'Out Of Order CSeq');
      if (c.expires === 0) next.splice(i, 1);
      else next[i] = this.#binding(req, c, callId, cseq, source, now);
    }
    // Refused rather than evicting someone's phone; 403 because retrying will not help.
    if (next.length > this.#maxContacts) return this.#fail(req, 403, 'Too Many Contacts');
    return this.#commit(req, { aor, bindings: next }, now);
  }

  #commit(req: SipMessage, update: BindingUpdate, now: number): RegisterResult {
    // the AOR becomes a key of the store (here and on every replica): a flat copy, not of the To's text
    update.aor = detach(update.aor);
    this.#store.replace(update);
    return { response: this.#ok(req, this.#store.lookup(update.aor, now), now), update };
  }

  /** One Contact value of a REGISTER, or the reason phrase of the 400 it earns. */
  #parseContact(value: string, headerExpires: number | undefined): ContactRequest | string {
    let na;
    try {
      na = parseNameAddr(value);
      parseUri(na.uri);
    } catch {
      return 'Invalid Contact';
    }
    const ep = nameAddrParam(na, 'expires');
    let expires = ep === undefined ? headerExpires ?? this.#defaultExpires : ep === null ? undefined : parseDelta(ep);
    if (expires === undefined) return 'Invalid Contact Expires';
    expires = Math.min(expires, this.#maxExpires); // 10.3 step 7: the registrar MAY shorten it
    const qp = nameAddrParam(na, 'q');
    if (qp === null || (qp !== undefined && !Q_RE.test(qp))) return 'Invalid Contact q';
    const inst = nameAddrParam(na, '+sip.instance');
    const rid = nameAddrParam(na, 'reg-id');
    const regId = typeof rid === 'string' && DELTA_RE.test(rid) && rid.length < 10 ? Number(rid) : undefined;
    return {
      uri: na.uri, expires, q: qp === undefined ? 1 : Number(qp),
      instance: typeof inst === 'string' ? unquote(inst) : undefined, regId,
    };
  }

  /**
   * A binding lives for hours: every string in it is a flat copy (detach), not a slice that would
   * keep this REGISTER's whole text alive with it.
   */
  #binding(req: SipMessage, c: ContactRequest, callId: string, cseq: number, source: ContactSource, now: number): Binding {
    const b: Binding = { contact: detach(c.uri), expiresAt: now + c.expires * 1000, q: c.q, callId: detach(callId), cseq, source, updatedAt: now };
    if (c.instance !== undefined) b.instance = detach(c.instance);
    if (c.regId !== undefined) b.regId = c.regId;
    const path = req.getAll('path');
    if (path.length > 0) b.path = path.map((p) => detach(p));
    const ua = req.get('user-agent');
    if (ua !== undefined) b.userAgent = detach(ua);
    return b;
  }

  /** 200 listing every current binding with its remaining time (10.3 step 8). */
  #ok(req: SipMessage, bindings: readonly Binding[], now: number): SipMessage {
    const headers: Array<[string, string]> = [];
    for (const b of bindings) {
      const left = Math.max(1, Math.ceil((b.expiresAt - now) / 1000));
      headers.push(['Contact', `<${b.contact}>;expires=${left}${b.q === 1 ? '' : `;q=${b.q}`}`]);
    }
    for (const p of req.getAll('path')) headers.push(['Path', p]); // RFC 3327 5.3
    headers.push(['Date', httpDate(now)]);
    return buildResponse(req, 200, { toTag: this.#toTag(), headers });
  }

  #fail(req: SipMessage, status: number, reason?: string, headers?: Array<[string, string]>): RegisterResult {
    return { response: buildResponse(req, status, { toTag: this.#toTag(), reason, headers }) };
  }
}

// the Date header has one-second resolution: format it once per second, not once per 200
let dateSecond = -1;
let dateText = '';
function httpDate(now: number): string {
  const second = Math.floor(now / 1000);
  if (second !== dateSecond) { dateSecond = second; dateText = new Date(second * 1000).toUTCString(); }
  return dateText;
}

function isOutOfOrder(b: Binding, callId: string, cseq: number): boolean {
  return b.callId === callId && cseq <= b.cseq;
}

/** delta-seconds; absurdly long values (10^100) saturate instead of overflowing. */
function parseDelta(text: string): number | undefined {
  if (!DELTA_RE.test(text)) return undefined;
  return text.length > 10 ? Number.MAX_SAFE_INTEGER : Number(text);
}
