// A line answering its provider's digest challenge (RFC 3261 22.2, RFC 8760 2.5: the topmost
// challenge with an algorithm we can compute), for REGISTER and for calls placed on the line.
import { isSipProxyError } from '../errors.js';
import { parseAuthValue } from '../sip/auth-header.js';
import { answerChallenge } from '../sip/digest.js';
import type { SipMessage } from '../sip/message.js';
import type { Line } from './peers.js';

export interface PeerAuthAnswer {
  /** Authorization (to a 401) or Proxy-Authorization (to a 407) */
  header: [string, string];
  /** the challenge said stale=true: our password was right, only the nonce was old */
  stale: boolean;
}

export function answerPeerChallenge(res: SipMessage, req: SipMessage, line: Line, nc: number): PeerAuthAnswer | undefined {
  const proxy = res.status === 407;
  const name = proxy ? 'Proxy-Authorization' : 'Authorization';
  for (const challenge of res.getAll(proxy ? 'proxy-authenticate' : 'www-authenticate')) {
    try {
      const value = answerChallenge(challenge, { username: line.authUsername, password: line.config.password, method: req.method, uri: req.uri, nc });
      const stale = parseAuthValue(challenge).params.get('stale')?.toLowerCase() === 'true';
      return { header: [name, value], stale };
    } catch (err) {
      if (!isSipProxyError(err)) throw err;
      // an algorithm or scheme we cannot compute: try the next challenge
    }
  }
  return undefined;
}
