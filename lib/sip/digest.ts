// HTTP Digest arithmetic as SIP uses it: RFC 2617 3.2.2 (MD5, qop=auth, RFC 2069 compatibility),
// RFC 7616 3.4 (SHA-256 and the -sess variants), RFC 8760 (SIP's use of SHA-256).
// Strings are hashed as UTF-8 (RFC 7616 charset=UTF-8); callers turn wire text into real strings.
import { hash, randomBytes } from 'node:crypto';
import { createError } from '../errors.js';
import { parseAuthValue } from './auth-header.js';
import { quote } from './split.js';

export type DigestAlgorithm = 'MD5' | 'MD5-sess' | 'SHA-256' | 'SHA-256-sess';

const ALGORITHMS: ReadonlyMap<string, DigestAlgorithm> = new Map([
  ['md5', 'MD5'], ['md5-sess', 'MD5-sess'], ['sha-256', 'SHA-256'], ['sha-256-sess', 'SHA-256-sess'],
]);

/** The algorithm named by an `algorithm=` parameter (case-insensitive), or undefined if unknown. */
export function parseDigestAlgorithm(text: string): DigestAlgorithm | undefined {
  return ALGORITHMS.get(text.toLowerCase());
}

function isSess(algorithm: DigestAlgorithm): boolean {
  return algorithm === 'MD5-sess' || algorithm === 'SHA-256-sess';
}

/** H(data): lower-case hex of MD5 or SHA-256. */
export function digestHash(algorithm: DigestAlgorithm, data: string): string {
  const name = algorithm === 'MD5' || algorithm === 'MD5-sess' ? 'md5' : 'sha256';
  // one-shot: no Hash object per call (three per digest check)
  return hash(name, data, 'hex');
}

export interface Ha1Input {
  algorithm: DigestAlgorithm;
  username: string;
  realm: string;
  password: string;
  /** needed by the -sess variants only */
  nonce?: string;
  cnonce?: string;
}

/** HA1 = H(user:realm:password), and for -sess H(that:nonce:cnonce) (RFC 7616 3.4.2). */
export function ha1(input: Ha1Input): string {
  return sessHa1(input, digestHash(input.algorithm, `${input.username}:${input.realm}:${input.password}`));
}

/** The -sess step over H(user:realm:password) (`base`); `base` itself for the other algorithms. */
function sessHa1(input: Ha1Input, base: string): string {
  if (!isSess(input.algorithm)) return base;
  return digestHash(input.algorithm, `${base}:${input.nonce ?? ''}:${input.cnonce ?? ''}`);
}

export interface DigestInput extends Ha1Input {
  method: string;
  uri: string;
  nonce: string;
  /** 8 hex digits as sent (`00000001`); with qop only */
  nc?: string;
  cnonce?: string;
  /** 'auth' or absent (RFC 2069 style); 'auth-int' is not supported */
  qop?: string;
}

/** The `response=` value a client computes (RFC 7616 3.4.1; RFC 2617 3.2.2.1 without qop). */
export function computeResponse(input: DigestInput): string {
  return responseWithBaseHa1(input, digestHash(input.algorithm, `${input.username}:${input.realm}:${input.password}`));
}

/** HA2 = H(method:digest-uri) for qop=auth or none (RFC 7616 3.4.3): the same for every request
 *  with that method and URI (all REGISTERs to one registrar URI), so a server may reuse it. */
export function digestHa2(algorithm: DigestAlgorithm, method: string, uri: string): string {
  return digestHash(algorithm, `${method}:${uri}`);
}

/**
 * computeResponse given H(user:realm:password) for the input's algorithm (`base`): a server can
 * keep that per user instead of hashing the password on every request. `input.password` is unused.
 * `ha2`, when given, is digestHa2 of the input's algorithm, method and uri.
 */
export function responseWithBaseHa1(input: DigestInput, base: string, ha2 = digestHa2(input.algorithm, input.method, input.uri)): string {
  const { algorithm } = input;
  const a1 = sessHa1(input, base);
  if (input.qop === undefined) return digestHash(algorithm, `${a1}:${input.nonce}:${ha2}`);
  if (input.qop !== 'auth') throw createError('SIP_ERR_AUTH', `unsupported qop '${input.qop}'`, 400);
  return digestHash(algorithm, `${a1}:${input.nonce}:${input.nc ?? ''}:${input.cnonce ?? ''}:auth:${ha2}`);
}

/**
 * Header text is held as latin1 (one char per byte); digest fields such as the username are UTF-8
 * on the wire (RFC 7616 4.11). Returns the real string, unchanged when it is plain ASCII.
 */
export function decodeWireText(s: string): string {
  // eslint-disable-next-line no-control-regex
  return /[^\x00-\x7f]/.test(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

export interface ClientCredentials {
  username: string;
  password: string;
  method: string;
  /** digest-uri: the Request-URI of the request being authorized */
  uri: string;
  /** defaults to 1 */
  nc?: number;
  /** defaults to 16 random hex digits */
  cnonce?: string;
}

/**
 * UAC side: the Authorization / Proxy-Authorization value answering one challenge value
 * (`Digest realm=..., nonce=...`). qop=auth when offered, RFC 2069 style otherwise.
 */
export function answerChallenge(challenge: string, creds: ClientCredentials): string {
  const { scheme, params } = parseAuthValue(challenge);
  const algorithm = parseDigestAlgorithm(params.get('algorithm') ?? 'MD5');
  const realm = params.get('realm');
  const nonce = params.get('nonce');
  if (scheme.toLowerCase() !== 'digest' || algorithm === undefined || realm === undefined || nonce === undefined) {
    throw createError('SIP_ERR_AUTH', `cannot answer challenge '${challenge}'`);
  }
  const offered = (params.get('qop') ?? '').split(',').map((q) => q.trim().toLowerCase());
  const qop = offered.includes('auth') ? 'auth' : undefined;
  const nc = (creds.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = creds.cnonce ?? randomBytes(8).toString('hex');
  const response = computeResponse({ algorithm, username: creds.username, realm, password: creds.password, method: creds.method, uri: creds.uri, nonce, nc, cnonce, qop });
  let v = `Digest username=${quote(creds.username)}, realm=${quote(realm)}, nonce=${quote(nonce)}, uri=${quote(creds.uri)}, response="${response}", algorithm=${algorithm}`;
  if (qop !== undefined) v += `, qop=auth, nc=${nc}, cnonce=${quote(cnonce)}`;
  const opaque = params.get('opaque');
  if (opaque !== undefined) v += `, opaque=${quote(opaque)}`;
  return v;
}
