// A BindingUpdate as it crosses threads (the shard's 'bind' to the main thread for the location
// journal and the fan-out, the main thread's 'bind' to the shards): each binding as one array
// instead of an object. Structured clone writes every property name of every object and the
// receiver rebuilds each object property by property; an array is its values only. Measured with
// v8.serialize / v8.deserialize on batches of 30 updates (what one post carries at 12,000
// REGISTERs/s): one binding 0.65 + 1.34 us per update as objects, 0.39 + 0.63 as arrays; four
// bindings 1.90 + 3.82 against 0.96 + 1.83. Every REGISTER's 200 brings one update to the main
// thread.
import { samePath, type Binding, type BindingUpdate, type ContactSource } from './binding.js';

/** contact, expiresAt, q, callId, cseq, source transport, address, port, connId, updatedAt (-1:
 *  none), instance, regId (-1: none), path, userAgent (null: none) */
export type WireBinding = [
  string, number, number, string, number, ContactSource['transport'], string, number, number,
  number, string | null, number, string[] | null, string | null,
];

export interface WireBindingUpdate {
  aor: string;
  b: WireBinding[];
}

export function bindingUpdateToWire(u: BindingUpdate): WireBindingUpdate {
  const b = new Array<WireBinding>(u.bindings.length);
  for (let i = 0; i < b.length; i++) {
    const x = u.bindings[i]!;
    const s = x.source;
    b[i] = [x.contact, x.expiresAt, x.q, x.callId, x.cseq, s.transport, s.address, s.port, s.connId,
      x.updatedAt ?? -1, x.instance ?? null, x.regId ?? -1, x.path ?? null, x.userAgent ?? null];
  }
  return { aor: u.aor, b };
}

/**
 * The update as objects. `known`: the receiver's bindings of the AOR; a binding that arrives
 * unchanged is the known object itself. A refresh of one contact of an AOR of n re-sends all n,
 * and n - 1 of them would otherwise be new objects replacing equal ones in the location store:
 * objects that live there long enough to be copied out of the young generation, then garbage for
 * the next full collection.
 */
export function bindingUpdateFromWire(w: WireBindingUpdate, known?: readonly Binding[]): BindingUpdate {
  const bindings = new Array<Binding>(w.b.length);
  for (let i = 0; i < bindings.length; i++) {
    const a = w.b[i]!;
    const same = known === undefined ? undefined : findEqual(known, a);
    if (same !== undefined) {
      bindings[i] = same;
      continue;
    }
    const x: Binding = {
      contact: a[0], expiresAt: a[1], q: a[2], callId: a[3], cseq: a[4],
      source: { transport: a[5], address: a[6], port: a[7], connId: a[8] },
    };
    // absent fields stay absent, as in the shard's own objects (deep-equal on both sides)
    if (a[9] !== -1) x.updatedAt = a[9];
    if (a[10] !== null) x.instance = a[10];
    if (a[11] !== -1) x.regId = a[11];
    if (a[12] !== null) x.path = a[12];
    if (a[13] !== null) x.userAgent = a[13];
    bindings[i] = x;
  }
  return { aor: w.aor, bindings };
}

function findEqual(known: readonly Binding[], a: WireBinding): Binding | undefined {
  for (const k of known) {
    if (k.contact !== a[0]) continue;
    const s = k.source;
    return k.expiresAt === a[1] && k.q === a[2] && k.callId === a[3] && k.cseq === a[4] && s.transport === a[5]
      && s.address === a[6] && s.port === a[7] && s.connId === a[8] && (k.updatedAt ?? -1) === a[9]
      && (k.instance ?? null) === a[10] && (k.regId ?? -1) === a[11] && samePath(k.path, a[12] ?? undefined)
      && (k.userAgent ?? null) === a[13] ? k : undefined;
  }
  return undefined;
}
