// Digest authentication of requests (RFC 3261 22.4 and 26.3.2.2, RFC 8760): challenges offer
// SHA-256 before MD5; credentials are checked against a stateless nonce.
import { randomBytes } from 'node:crypto';
import type { SipMessage } from '../sip/message.js';
import { parseDigestCredentials, type DigestCredentials } from '../sip/auth-header.js';
import { decodeWireText, digestHa2, digestHash, parseDigestAlgorithm, responseWithBaseHa1, type DigestAlgorithm } from '../sip/digest.js';
import { detach } from '../sip/detach.js';
import { quote } from '../sip/split.js';
import { createError } from '../errors.js';
import type { NonceManager } from './nonce.js';
import { TwoGenerationMap } from './two-generation-map.js';

export type ChallengeAlgorithm = 'SHA-256' | 'MD5';

export interface AuthenticatorOptions {
  realm: string;
  /** offered in this order; RFC 8760 2.4: SHA-256 first */
  algorithms: ChallengeAlgorithm[];
  nonces: NonceManager;
  passwordOf: (username: string) => string | undefined;
}

export type AuthResult =
  | { ok: true; username: string }
  | { ok: false; reason: 'missing' | 'stale' | 'failed' };

const MISSING: AuthResult = { ok: false, reason: 'missing' };
const STALE: AuthResult = { ok: false, reason: 'stale' };
const FAILED: AuthResult = { ok: false, reason: 'failed' };
const NC_RE = /^[0-9A-Fa-f]{8}$/;
const HEX_RE = /^[0-9A-Fa-f]+$/;
/** usernames whose H(user:realm:password) is kept, per generation (see TwoGenerationMap) */
const HA1_CACHE = 8192;

interface CachedHa1 { password: string; ha1: string }
/** the hash function of an algorithm: the -sess variants share theirs with the plain ones */
type HashFn = 'MD5' | 'SHA-256';
interface Ha2Memo { fn: HashFn; method: string; uri: string; ha2: string }

export class DigestAuthenticator {
  readonly realm: string;
  readonly #algorithms: readonly ChallengeAlgorithm[];
  readonly #nonces: NonceManager;
  readonly #passwordOf: (username: string) => string | undefined;
  /** stands in for an unknown user's password so that both cases cost the same work */
  readonly #decoy = randomBytes(24).toString('base64');
  /** `Digest realm="..."`, quoted once */
  readonly #realmParam: string;
  /**
   * H(user:realm:password) by algorithm and username, unknown usernames (with the decoy) included:
   * a first attempt costs one more hash than a repeated one whether or not the user exists, so the
   * cache tells nothing about which users exist. The password is kept to notice a reload's change.
   */
  readonly #ha1s: Record<HashFn, TwoGenerationMap<CachedHa1>> = {
    MD5: new TwoGenerationMap<CachedHa1>(HA1_CACHE), 'SHA-256': new TwoGenerationMap<CachedHa1>(HA1_CACHE),
  };
  /**
   * The last H(method:uri) computed, for REGISTER (index 0) and for the proxy's own checks (1):
   * every phone registers to the same Request-URI, so the registrar's slot nearly always hits.
   */
  readonly #ha2s: [Ha2Memo | undefined, Ha2Memo | undefined] = [undefined, undefined];

  constructor(opts: AuthenticatorOptions) {
    if (opts.algorithms.length === 0) throw createError('SIP_ERR_CONFIG', 'digest auth needs at least one algorithm');
    if (opts.realm === '' || /["\\\r\n]/.test(opts.realm)) throw createError('SIP_ERR_CONFIG', `bad digest realm '${opts.realm}'`);
    this.realm = opts.realm;
    this.#realmParam = `Digest realm=${quote(opts.realm)}`;
    this.#algorithms = [...new Set(opts.algorithms)];
    this.#nonces = opts.nonces;
    this.#passwordOf = opts.passwordOf;
  }

  /** WWW-Authenticate (401) or Proxy-Authenticate (407) values, one per algorithm, sharing a nonce
   *  bound to `callId` (pass the request's: see nonce.ts). */
  challengeHeaders(proxy: boolean, stale = false, callId = ''): Array<[string, string]> {
    const name = proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    // the nonce manager remembers the binding of a nonce it just issued: a copy, not a slice of the request
    const head = `${this.#realmParam}, nonce="${this.#nonces.issue(detach(callId))}"`;
    const tail = stale ? ', qop="auth", stale=true' : ', qop="auth"';
    return this.#algorithms.map((alg) => [name, `${head}, algorithm=${alg}${tail}`]);
  }

  /**
   * Check Authorization (or Proxy-Authorization). Unknown user and wrong password both give
   * 'failed' after the same hashing work. A correct response over a nonce we no longer accept
   * (expired, other secret, nc replayed) gives 'stale': the client knows the password and only
   * needs a fresh nonce (RFC 7616 3.3 stale=true), so it must not prompt its user.
   */
  verify(req: SipMessage, proxy: boolean): AuthResult {
    const found = this.#credentials(req, proxy);
    if (found === undefined) return MISSING;
    const { algorithm, creds } = found;
    const { username: rawUser, uri, nonce, response, nc, cnonce } = creds;
    if (rawUser === undefined || rawUser === '' || uri === undefined || uri === '' || nonce === undefined
      || response === undefined || !HEX_RE.test(response)) return FAILED;
    const qop = creds.qop?.toLowerCase();
    if (qop !== undefined && (qop !== 'auth' || nc === undefined || !NC_RE.test(nc) || cnonce === undefined || cnonce === '')) {
      return FAILED;
    }
    const username = decodeWireText(rawUser);
    const password = this.#passwordOf(username);
    const digestUri = decodeWireText(uri);
    const secret = password ?? this.#decoy;
    const fn: HashFn = algorithm === 'MD5' || algorithm === 'MD5-sess' ? 'MD5' : 'SHA-256';
    const expected = responseWithBaseHa1({
      algorithm, username, realm: this.realm, password: secret, method: req.method,
      uri: digestUri, nonce, nc, cnonce: cnonce === undefined ? undefined : decodeWireText(cnonce), qop,
    }, this.#baseHa1(fn, username, secret), this.#ha2(fn, req.method, digestUri, proxy));
    if (!sameHex(expected, response) || password === undefined) return FAILED;
    // RFC 7616 3.4.6: the response must be for this request's URI, not one captured elsewhere
    if (!sameRequestUri(digestUri, req.uri)) return FAILED;
    if (this.#nonces.check(nonce, req.callId) !== 'valid') return STALE;
    // RFC 2069-style credentials (no qop) carry no count: replay is bounded by the nonce lifetime.
    if (qop !== undefined && !this.#nonces.checkCount(nonce, parseInt(nc!, 16))) return STALE;
    return { ok: true, username };
  }

  /** H(user:realm:password), from the cache while the password is the same. */
  #baseHa1(fn: HashFn, username: string, password: string): string {
    const cache = this.#ha1s[fn];
    const cached = cache.get(username);
    if (cached !== undefined && cached.password === password) return cached.ha1;
    const ha1 = digestHash(fn, `${username}:${this.realm}:${password}`);
    // kept across requests: a flat copy of the username, not a slice of this request
    cache.set(detach(username), { password, ha1 });
    return ha1;
  }

  /** H(method:uri), reused while the same method and URI come in a row (RFC 7616 3.4.3). */
  #ha2(fn: HashFn, method: string, uri: string, proxy: boolean): string {
    const slot = proxy ? 1 : 0;
    const last = this.#ha2s[slot];
    if (last !== undefined && last.fn === fn && last.uri === uri && last.method === method) return last.ha2;
    const ha2 = digestHa2(fn, method, uri);
    this.#ha2s[slot] = { fn, method: detach(method), uri: detach(uri), ha2 };
    return ha2;
  }

  /** The first Digest credentials for our realm with an algorithm we offer (absent means MD5). */
  #credentials(req: SipMessage, proxy: boolean): { algorithm: DigestAlgorithm; creds: DigestCredentials } | undefined {
    for (const value of req.getAll(proxy ? 'proxy-authorization' : 'authorization')) {
      const creds = parseDigestCredentials(value);
      if (creds === undefined || creds.scheme.toLowerCase() !== 'digest') continue;
      if (decodeWireText(creds.realm ?? '') !== this.realm) continue;
      const algorithm = parseDigestAlgorithm(creds.algorithm ?? 'MD5');
      if (algorithm === undefined || !(this.#algorithms as readonly string[]).includes(algorithm)) continue;
      return { algorithm, creds };
    }
    return undefined;
  }
}

function sameRequestUri(digestUri: string, requestUri: string): boolean {
  return digestUri === requestUri || digestUri.toLowerCase() === requestUri.toLowerCase();
}

/**
 * Our lower-case hex digest against the client's (any case), in time that depends on the length
 * only: every character is looked at, no early exit (as timingSafeEqual, without two Buffers).
 */
function sameHex(expected: string, given: string): boolean {
  if (expected.length !== given.length) return false;
  let diff = 0;
  // `| 0x20` folds A-F onto a-f; digits already have that bit set
  for (let i = 0; i < expected.length; i++) diff |= expected.charCodeAt(i) ^ (given.charCodeAt(i) | 0x20);
  return diff === 0;
}
