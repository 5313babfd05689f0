// The first REGISTER of a digest exchange answered on the main thread (like Kamailio's
// www_challenge): a credential-less REGISTER for our domain gets its 401 straight from the received
// bytes, with no shard hop and no transaction. The nonce is the shards' own stateless kind (same
// secret, bound to the Call-ID; nonce.ts), so the shard that gets the answer checks it and keeps its
// nc counter as for a nonce it issued itself. The 401 is the one the shard's registrar would send,
// header for header (only the nonce and the To tag differ). Anything the shard might answer
// otherwise (credentials, Require/Proxy-Require, Route, a tag, a loop, a foreign or tel: URI, a
// trunk's claimed From, a defect) is left to the shard, unchanged.
import { randomBytes } from 'node:crypto';
import type { Config } from '../config/schema.js';
import { LocalIdentity } from '../proxy/local-identity.js';
import { stampVia } from '../proxy/proxy-core.js';
import type { SipMessage } from '../sip/message.js';
import { hasTag, parseNameAddr } from '../sip/name-addr.js';
import { parseMessage } from '../sip/parser.js';
import { parseUri } from '../sip/uri.js';
import { checkRequest } from '../sip/validate.js';
import { parseVia } from '../sip/via.js';
import { splitCommas } from '../sip/split.js';
import { canonicalHeaderName } from '../sip/header-names.js';
import type { ListenerConfig, SendTarget } from '../transport/types.js';
import { DigestAuthenticator } from './authenticator.js';
import { canonicalAor } from './location-store.js';
import { NonceManager } from './nonce.js';

export interface StatelessChallengeOptions {
  config: Config;
  listeners: readonly ListenerConfig[];
  /** the shards' nonce secret */
  nonceSecret: Uint8Array;
  /** ms since epoch; injectable for tests */
  now?: () => number;
}

/** "REGISTER " */
const REGISTER_SP = Buffer.from('REGISTER ', 'latin1');
const STATUS_LINE = 'SIP/2.0 401 Unauthorized\r\n';

export class StatelessChallenger {
  readonly nonces: NonceManager;
  readonly #auth: DigestAuthenticator;
  readonly #identity: LocalIdentity;
  readonly #domains: ReadonlySet<string>;
  readonly #checkFromClaim: boolean;
  readonly #tagPrefix = randomBytes(4).toString('hex');
  #tagCounter = 0;

  constructor(opts: StatelessChallengeOptions) {
    const { config } = opts;
    const now = opts.now ?? Date.now;
    // issues only and remembers nothing (a reload may replace it freely): the shard that gets the
    // answer checks the MAC and counts nc
    this.nonces = new NonceManager({
      secret: Buffer.from(opts.nonceSecret), ttlSeconds: config.auth.nonceTtlSeconds, now, rememberIssued: false,
    });
    // no passwords here: this side only issues challenges, it never checks an answer
    this.#auth = new DigestAuthenticator({ realm: config.auth.realm, algorithms: [...config.auth.algorithms], nonces: this.nonces, passwordOf: () => undefined });
    this.#identity = new LocalIdentity(opts.listeners, config.domains);
    this.#domains = new Set(config.domains.map((d) => d.toLowerCase()));
    // a trunk may claim a From host (peer-routing.ts checkTrunkClaim): then only local From hosts here
    this.#checkFromClaim = config.trunks.length > 0;
  }

  /**
   * The 401's bytes for a credential-less REGISTER the shard's registrar would challenge, or
   * undefined: the message goes to its shard as it is.
   */
  challenge(data: Buffer, source: SendTarget): Buffer | undefined {
    if (data.length < REGISTER_SP.length || data.compare(REGISTER_SP, 0, REGISTER_SP.length, 0, REGISTER_SP.length) !== 0) return undefined;
    try {
      const { message: req, defect } = parseMessage(data);
      // the shard's checks in its order: parse, well-formed (400), proxy checks, routing, registrar
      if (defect !== undefined || !req.isRequest || req.method !== 'REGISTER' || checkRequest(req) !== undefined) return undefined;
      return this.#challengeable(req) ? this.#response(req, source) : undefined;
    } catch {
      return undefined; // a value only a full parse objects to: the shard answers it
    }
  }

  /** What the shard checks before its registrar challenges (proxy-core onRequest, routing, registrar). */
  #challengeable(req: SipMessage): boolean {
    let to: string | undefined;
    let from: string | undefined;
    let vias = 0;
    for (let i = 0, size = req.size; i < size; i++) {
      const name = req.nameAt(i);
      // credentials (whatever their realm), option tags and pre-loaded routes: the shard decides
      if (name === 'authorization' || name === 'require' || name === 'proxy-require' || name === 'route') return false;
      if (name === 'to') to = req.valueAt(i);
      else if (name === 'from') from = req.valueAt(i);
      else if (name === 'max-forwards' && Number(req.valueAt(i)) === 0) return false; // 483
      else if (name === 'via') vias += this.#viaLineIsOurs(req.valueAt(i), vias === 0) ? 1000 : 1;
    }
    // RFC 3261 16.3 step 4: a lower Via of ours may make it a loop (482)
    if (vias >= 1000 || to === undefined || from === undefined) return false;
    // Request-URI: ours, without a user part (which may name a line)
    const uri = req.requestUri();
    if (uri.scheme !== 'sip' && uri.scheme !== 'sips') return false;
    if (uri.user !== undefined || !(this.#identity.isLocalDomain(uri.host) || this.#identity.isSelf(uri))) return false;
    if (hasTag(to) || /tel:/i.test(to)) return false;
    if (this.#checkFromClaim) {
      const f = parseUri(parseNameAddr(from).uri);
      if ((f.scheme !== 'sip' && f.scheme !== 'sips') || !this.#identity.isLocalDomain(f.host)) return false;
    }
    // registrar step 5: an AOR in a domain we serve (else 404, never a challenge)
    const aor = canonicalAor(parseNameAddr(to).uri);
    return aor !== undefined && this.#domains.has(aor.slice(aor.lastIndexOf('@') + 1));
  }

  /** A Via line holds a value below the top one whose sent-by is ours. */
  #viaLineIsOurs(value: string, topLine: boolean): boolean {
    if (topLine && value.indexOf(',') === -1) return false; // the usual case: one Via, one value
    const values = splitCommas(value);
    for (let k = topLine ? 1 : 0; k < values.length; k++) {
      const v = parseVia(values[k]!);
      if (this.#identity.isSelfSentBy(v.host, v.port, v.transport)) return true;
    }
    return false;
  }

  /**
   * buildResponse(req, 401, ...).toBuffer() after stampVia, written straight from the request's
   * lines: Via (top value stamped), From, To (+ our tag), Call-ID and CSeq in their order, then
   * the challenges and Content-Length.
   */
  #response(req: SipMessage, source: SendTarget): Buffer {
    stampVia(req, req.topVia()!, source); // an edited Via line has no original text: written anew
    let s = STATUS_LINE;
    for (let i = 0, size = req.size; i < size; i++) {
      const name = req.nameAt(i);
      if (name === 'to') {
        s += `To: ${req.valueAt(i)};tag=${this.#tagPrefix}${(this.#tagCounter++).toString(36)}\r\n`;
      } else if (name === 'via' || name === 'from' || name === 'call-id' || name === 'cseq') {
        s += `${req.lineAt(i) ?? `${canonicalHeaderName(name)}: ${req.valueAt(i)}`}\r\n`;
      }
    }
    for (const [n, v] of this.#auth.challengeHeaders(false, false, req.callId)) s += `${n}: ${v}\r\n`;
    return Buffer.from(`${s}Content-Length: 0\r\n\r\n`, 'latin1');
  }
}

/** The challenger for `config`, or undefined when REGISTERs are not challenged here (option off,
 *  or no digest auth for REGISTER). */
export function createStatelessChallenger(config: Config, listeners: readonly ListenerConfig[], nonceSecret: Uint8Array): StatelessChallenger | undefined {
  if (!config.registrar.statelessChallenge || !config.auth.register) return undefined;
  return new StatelessChallenger({ config, listeners, nonceSecret });
}
