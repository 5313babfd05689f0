// Request validation a proxy performs before forwarding (RFC 3261 16.3).
import type { SipMessage } from '../sip/message.js';

export interface Rejection { status: number; reason?: string; headers?: Array<[string, string]> }

const ROUTABLE_SCHEMES = new Set(['sip', 'sips', 'tel']);

/** Step 2: URI scheme we can route (RFC 4475 3.3.2, 3.3.3). */
export function checkScheme(req: SipMessage): Rejection | undefined {
  return ROUTABLE_SCHEMES.has(req.requestUri().scheme) ? undefined : { status: 416 };
}

/** Step 3: Max-Forwards of zero ends here (483); the header is added when missing. */
export function checkMaxForwards(req: SipMessage): Rejection | undefined {
  const mf = req.get('max-forwards');
  return mf !== undefined && Number(mf) === 0 ? { status: 483 } : undefined;
}

/** Step 5: we support no proxy extensions, so every Proxy-Require tag is unsupported (420). */
export function checkProxyRequire(req: SipMessage): Rejection | undefined {
  if (req.valueCount('proxy-require') === 0) return undefined;
  const tags = req.getAll('proxy-require');
  return { status: 420, headers: [['Unsupported', tags.join(', ')]] };
}
