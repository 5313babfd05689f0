// Under overload the main thread refuses new requests (lib/shard/overload.ts isNewWork), but a
// request that answers our digest challenge is the second half of work already done: its 401 or
// 407 went out, the client computed its credentials. Refusing it throws that work away and brings
// the client back from the start (a fresh request, a fresh challenge): the load that makes
// retransmissions and retries outgrow the work done (congestion collapse). Telling such an answer
// from a forged one costs one HMAC over the nonce (nonce.ts), not a parse of the message: only the
// Authorization or Proxy-Authorization header and the Call-ID are peeked, and only while shedding.
// The nonce is read by the shard's own credentials parser, so both read the same one.
import { compileHeaderName, peekCallId, peekHeader } from '../shard/callid-peek.js';
import { parseDigestCredentials } from '../sip/auth-header.js';
import { NonceManager } from './nonce.js';

const AUTHORIZATION = compileHeaderName('Authorization');
const PROXY_AUTHORIZATION = compileHeaderName('Proxy-Authorization');

export class ChallengeAnswerCheck {
  readonly #nonces: NonceManager;

  /** `nonceSecret` and `ttlSeconds`: the shards' own (auth.nonceTtlSeconds), so their verdict is ours. */
  constructor(nonceSecret: Uint8Array, ttlSeconds: number, now: () => number = Date.now) {
    // checks only: the nc counters stay with the shard that gets the request
    this.#nonces = new NonceManager({ secret: Buffer.from(nonceSecret), ttlSeconds, now, rememberIssued: false });
  }

  /** Credentials with a nonce we issued for this request's Call-ID, not yet stale. */
  answersOurChallenge(data: Buffer): boolean {
    const credentials = peekHeader(data, AUTHORIZATION) ?? peekHeader(data, PROXY_AUTHORIZATION);
    if (credentials === undefined) return false;
    const nonce = parseDigestCredentials(credentials)?.nonce;
    if (nonce === undefined) return false;
    const callId = peekCallId(data);
    return callId !== undefined && this.#nonces.check(nonce, callId) === 'valid';
  }
}
