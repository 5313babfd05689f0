// Digest authentication of requests (RFC 3261 22.4 and 26.3.2.2, RFC 8760): challenges offer
// SHA-256 before MD5; credentials are checked against a stateless nonce.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { SipMessage } from '../sip/message.js';
import { parseAuthValue } from '../sip/auth-header.js';
import { computeResponse, decodeWireText, parseDigestAlgorithm, type DigestAlgorithm } from '../sip/digest.js';
import { quote } from '../sip/split.js';
import { createError } from '../errors.js';
import type { NonceManager } from './nonce.js';

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

export class DigestAuthenticator {
  readonly realm: string;
  readonly #algorithms: readonly ChallengeAlgorithm[];
  readonly #nonces: NonceManager;
  readonly #passwordOf: (username: string) => string | undefined;
  /** stands in for an unknown user's password so that both cases cost the same work */
  readonly #decoy = randomBytes(24).toString('base64');

  constructor(opts: AuthenticatorOptions) {
    if (opts.algorithms.length === 0) throw createError('SIP_ERR_CONFIG', 'digest auth needs at least one algorithm');
    if (opts.realm === '' || /["\\\r\n]/.test(opts.realm)) throw createError('SIP_ERR_CONFIG', `bad digest realm '${opts.realm}'`);
    this.realm = opts.realm;
    this.#algorithms = [...new Set(opts.algorithms)];
    this.#nonces = opts.nonces;
    this.#passwordOf = opts.passwordOf;
  }

  /** WWW-Authenticate (401) or Proxy-Authenticate (407) values, one per algorithm, sharing a nonce
   *  bound to `callId` (pass the request's: see nonce.ts). */
  challengeHeaders(proxy: boolean, stale = false, callId = ''): Array<[string, string]> {
    const name = proxy ? 'Proxy-Authenticate' : 'WWW-Authenticate';
    const head = `Digest realm=${quote(this.realm)}, nonce="${this.#nonces.issue(callId)}"`;
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
    const { algorithm, params } = found;
    const rawUser = params.get('username');
    const uri = params.get('uri');
    const nonce = params.get('nonce');
    const response = params.get('response');
    if (rawUser === undefined || rawUser === '' || uri === undefined || uri === '' || nonce === undefined
      || response === undefined || !HEX_RE.test(response)) return FAILED;
    const qop = params.get('qop')?.toLowerCase();
    const nc = params.get('nc');
    const cnonce = params.get('cnonce');
    if (qop !== undefined && (qop !== 'auth' || nc === undefined || !NC_RE.test(nc) || cnonce === undefined || cnonce === '')) {
      return FAILED;
    }
    const username = decodeWireText(rawUser);
    const password = this.#passwordOf(username);
    const expected = computeResponse({
      algorithm, username, realm: this.realm, password: password ?? this.#decoy, method: req.method,
      uri: decodeWireText(uri), nonce, nc, cnonce: cnonce === undefined ? undefined : decodeWireText(cnonce), qop,
    });
    if (!sameHex(expected, response) || password === undefined) return FAILED;
    // RFC 7616 3.4.6: the response must be for this request's URI, not one captured elsewhere
    if (!sameRequestUri(decodeWireText(uri), req.uri)) return FAILED;
    if (this.#nonces.check(nonce, req.callId) !== 'valid') return STALE;
    // RFC 2069-style credentials (no qop) carry no count: replay is bounded by the nonce lifetime.
    if (qop !== undefined && !this.#nonces.checkCount(nonce, parseInt(nc!, 16))) return STALE;
    return { ok: true, username };
  }

  /** The first Digest credentials for our realm with an algorithm we offer (absent means MD5). */
  #credentials(req: SipMessage, proxy: boolean): { algorithm: DigestAlgorithm; params: Map<string, string> } | undefined {
    for (const value of req.getAll(proxy ? 'proxy-authorization' : 'authorization')) {
      let parsed;
      try {
        parsed = parseAuthValue(value);
      } catch {
        continue;
      }
      if (parsed.scheme.toLowerCase() !== 'digest') continue;
      if (decodeWireText(parsed.params.get('realm') ?? '') !== this.realm) continue;
      const algorithm = parseDigestAlgorithm(parsed.params.get('algorithm') ?? 'MD5');
      if (algorithm === undefined || !(this.#algorithms as readonly string[]).includes(algorithm)) continue;
      return { algorithm, params: parsed.params };
    }
    return undefined;
  }
}

function sameRequestUri(digestUri: string, requestUri: string): boolean {
  return digestUri === requestUri || digestUri.toLowerCase() === requestUri.toLowerCase();
}

/** Constant-time comparison of our lower-case hex digest with the client's (any case). */
function sameHex(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(given.toLowerCase(), 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}
