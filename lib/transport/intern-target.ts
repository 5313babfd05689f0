// Destinations held for a long time (by dialogs, and by transactions for Timer L/M/J) share one
// object per distinct address instead of each keeping the per-message copy that came through the
// worker channel.
import { detach } from '../sip/detach.js';
import type { SendTarget } from './types.js';

/** The cache is only a lookup aid; when it grows past its bound it starts over (holders keep theirs). */
const targets = new Map<string, SendTarget>();
const TARGETS_MAX = 10_000;
export function internTarget(t: SendTarget): SendTarget {
  const k = `${t.transport}|${t.address}|${t.port}|${t.connId ?? ''}|${t.host ?? ''}`;
  let v = targets.get(k);
  if (v === undefined) {
    if (targets.size >= TARGETS_MAX) targets.clear();
    v = { transport: t.transport, address: detach(t.address), port: t.port };
    if (t.connId !== undefined) v.connId = t.connId;
    if (t.host !== undefined) v.host = detach(t.host);
    targets.set(detach(k), v);
  }
  return v;
}

