// Destinations held for a long time (by dialogs, and by transactions for Timer L/M/J) share one
// object per distinct address instead of each keeping the per-message copy that came through the
// worker channel.
import { detach } from '../sip/detach.js';
import type { SendTarget } from './types.js';

/**
 * By address, then port: the few targets that differ only in transport, connection or host name.
 * Looked up without building a key string (every transaction and dialog interns its targets).
 * The cache is only a lookup aid; when it grows past its bound it starts over (holders keep theirs).
 */
const targets = new Map<string, Map<number, SendTarget[]>>();
/** what internTarget returned: passing one back costs a WeakSet lookup */
let interned = new WeakSet<SendTarget>();
let count = 0;
const TARGETS_MAX = 10_000;

export function internTarget(t: SendTarget): SendTarget {
  if (interned.has(t)) return t;
  let byPort = targets.get(t.address);
  const same = byPort?.get(t.port);
  if (same !== undefined) {
    for (let i = 0; i < same.length; i++) {
      const v = same[i]!;
      if (v.transport === t.transport && v.connId === t.connId && v.host === t.host) return v;
    }
  }
  if (count >= TARGETS_MAX) {
    targets.clear();
    interned = new WeakSet();
    count = 0;
    byPort = undefined;
  }
  const v: SendTarget = { transport: t.transport, address: detach(t.address), port: t.port };
  if (t.connId !== undefined) v.connId = t.connId;
  if (t.host !== undefined) v.host = detach(t.host);
  if (byPort === undefined) targets.set(v.address, byPort = new Map());
  const list = byPort.get(v.port);
  if (list === undefined) byPort.set(v.port, [v]);
  else list.push(v);
  interned.add(v);
  count++;
  return v;
}
