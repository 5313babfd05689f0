// The embedded location service: address-of-record -> bindings, one replica per thread. Every
// change arrives as a full-set BindingUpdate, so replicas converge by applying the same updates.
import { Packr } from 'msgpackr';
import { createError } from '../errors.js';
import { decodeWireText } from '../sip/digest.js';
import { isSipScheme, parseUri, unescapeUser } from '../sip/uri.js';
import type { Binding, BindingUpdate } from './binding.js';

/** What the proxy and registrar need; a Redis-backed replica can implement the same. */
export interface LocationService {
  /** unexpired bindings, highest q first, then most recently refreshed */
  lookup(aor: string, now: number): Binding[];
  replace(update: BindingUpdate): void;
  aors(): Iterable<string>;
  size(): { aors: number; bindings: number };
  /** drop expired bindings; the updates describe each AOR that changed */
  purgeExpired(now: number): BindingUpdate[];
}

/**
 * The store key of a SIP(S) URI: `sip:user@host` with the user unescaped and the host lower-case,
 * no port, no parameters (RFC 3261 10.3 step 5). sips folds into sip: one AOR either way. Undefined
 * for URIs that cannot name an AOR (no user, other schemes, malformed).
 */
export function canonicalAor(uri: string): string | undefined {
  let u;
  try {
    u = parseUri(uri);
  } catch {
    return undefined;
  }
  if (!isSipScheme(u) || u.user === undefined || u.host === '') return undefined;
  return `sip:${decodeWireText(unescapeUser(u.user))}@${u.host}`;
}

// Fixed on both sides: decoding with another useRecords setting than encoding misreads the data.
const packr = new Packr({ useRecords: false });
const SNAPSHOT_VERSION = 1;

export class LocationStore implements LocationService {
  readonly #byAor = new Map<string, Binding[]>();
  #bindings = 0;

  lookup(aor: string, now: number): Binding[] {
    const list = this.#byAor.get(aor);
    if (list === undefined) return [];
    return list.filter((b) => b.expiresAt > now);
  }

  /** The AOR's bindings as stored, expired ones included (no copy: do not change it). */
  stored(aor: string): readonly Binding[] | undefined {
    return this.#byAor.get(aor);
  }

  replace(update: BindingUpdate): void {
    const old = this.#byAor.get(update.aor);
    if (old !== undefined) this.#bindings -= old.length;
    if (update.bindings.length === 0) {
      this.#byAor.delete(update.aor);
      return;
    }
    // Sorted once here so that lookups on the hot path only filter.
    const list = [...update.bindings].sort(byPreference);
    this.#byAor.set(update.aor, list);
    this.#bindings += list.length;
  }

  aors(): Iterable<string> {
    return this.#byAor.keys();
  }

  size(): { aors: number; bindings: number } {
    return { aors: this.#byAor.size, bindings: this.#bindings };
  }

  purgeExpired(now: number): BindingUpdate[] {
    const changed: BindingUpdate[] = [];
    for (const [aor, list] of this.#byAor) {
      const kept = list.filter((b) => b.expiresAt > now);
      if (kept.length !== list.length) changed.push({ aor, bindings: kept });
    }
    for (const update of changed) this.replace(update);
    return changed;
  }

  snapshot(): Buffer {
    const updates: BindingUpdate[] = [];
    for (const [aor, bindings] of this.#byAor) updates.push({ aor, bindings });
    // pack() returns a view into msgpackr's reusable arena: copy before it is overwritten.
    return Buffer.from(packr.pack({ v: SNAPSHOT_VERSION, updates }));
  }

  static restore(buf: Buffer): LocationStore {
    let data: unknown;
    try {
      data = packr.unpack(buf);
    } catch (err) {
      throw createError('SIP_ERR_SNAPSHOT', `location snapshot unreadable: ${(err as Error).message}`);
    }
    const snap = data as { v?: unknown; updates?: unknown } | null;
    if (snap === null || typeof snap !== 'object' || snap.v !== SNAPSHOT_VERSION || !Array.isArray(snap.updates)) {
      throw createError('SIP_ERR_SNAPSHOT', 'not a version 1 location snapshot');
    }
    const store = new LocationStore();
    for (const u of snap.updates as BindingUpdate[]) {
      if (typeof u?.aor !== 'string' || !Array.isArray(u.bindings)) throw createError('SIP_ERR_SNAPSHOT', 'malformed location snapshot entry');
      store.replace(u);
    }
    return store;
  }
}

function byPreference(a: Binding, b: Binding): number {
  return b.q - a.q || (b.updatedAt ?? b.expiresAt) - (a.updatedAt ?? a.expiresAt);
}
