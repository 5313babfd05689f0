// Which BindingUpdates the main thread passes on to the other shards, and when. Every update is
// applied and persisted on the main thread as before; what is spared is the broadcast of a plain
// refresh: the same contacts, reached the same way, only living longer. The other shards keep the
// version they were last sent (`held`), which routes exactly like the refreshed one, until that
// version comes within MARGIN_MS of expiring: then the latest one is sent (due()). So:
//  - a removed or shortened binding, a new contact, a changed source/path/q goes out at once: no
//    shard routes to a binding that is gone;
//  - a held version never expires on a shard while the user agent's refresh keeps it alive.
// A shard that registers another contact of the AOR (another Call-ID, so maybe another shard)
// builds its full set from its held version: its copy of a binding refreshed since is older than
// the main thread's, and would cut that binding's life short. repair() puts the newer one back and
// the result goes to every shard, the sender included.
import { samePath, type Binding, type BindingUpdate } from './binding.js';
import { findContact } from './contact-match.js';

/** how long before a held version expires the latest one must be on its way to the shards */
export const MARGIN_MS = 30_000;

export interface FanoutDecision {
  /** the update to apply and persist (the one given, or its repair) */
  update: BindingUpdate;
  /** pass it on to the other shards now */
  send: boolean;
  /** send it to the shard it came from too (it was repaired) */
  toSender: boolean;
}

interface AorState {
  /** what the other shards hold */
  held: readonly Binding[];
  /** the latest update, not yet sent (the main thread's current set) */
  pending?: BindingUpdate;
}

export class BindingFanout {
  readonly #aors = new Map<string, AorState>();
  /** second -> AORs whose pending update must go out then (checked again when due) */
  readonly #due = new Map<number, Set<string>>();
  #nextSecond = -1;
  /** refreshes not passed on, in all */
  spared = 0;

  accept(update: BindingUpdate, now: number): FanoutDecision {
    const state = this.#aors.get(update.aor);
    const repaired = state?.pending === undefined ? update : repair(update, state.pending);
    if (repaired === update && state !== undefined && isRefreshOf(update.bindings, state.held, now)) {
      if (state.pending === undefined) this.#schedule(update.aor, flushAt(state.held));
      state.pending = update;
      this.spared++;
      return { update, send: false, toSender: false };
    }
    if (repaired.bindings.length === 0) this.#aors.delete(update.aor);
    else this.#aors.set(update.aor, { held: repaired.bindings });
    return { update: repaired, send: true, toSender: repaired !== update };
  }

  /** The pending updates whose held version comes within MARGIN_MS of expiring by `now`. */
  due(now: number): BindingUpdate[] {
    const out: BindingUpdate[] = [];
    const second = Math.floor(now / 1000);
    if (this.#nextSecond === -1) this.#nextSecond = second;
    // walk the seconds passed since the last call; jump over a long idle gap in one step
    if (second - this.#nextSecond > this.#due.size) {
      for (const s of [...this.#due.keys()]) if (s <= second) this.#flush(s, now, out);
    } else {
      for (let s = this.#nextSecond; s <= second; s++) this.#flush(s, now, out);
    }
    this.#nextSecond = second + 1;
    return out;
  }

  #flush(second: number, now: number, out: BindingUpdate[]): void {
    const aors = this.#due.get(second);
    if (aors === undefined) return;
    this.#due.delete(second);
    for (const aor of aors) {
      const state = this.#aors.get(aor);
      // sent since with a later update, or due at a later second
      if (state?.pending === undefined || flushAt(state.held) > now) continue;
      out.push(state.pending);
      this.#aors.set(aor, { held: state.pending.bindings });
    }
  }

  #schedule(aor: string, at: number): void {
    const second = Math.max(Math.floor(at / 1000), this.#nextSecond);
    let set = this.#due.get(second);
    if (set === undefined) this.#due.set(second, (set = new Set()));
    set.add(aor);
  }
}

/** When the held version must be replaced on the shards: MARGIN_MS before its first expiry. */
function flushAt(held: readonly Binding[]): number {
  let first = Infinity;
  for (const b of held) if (b.expiresAt < first) first = b.expiresAt;
  return first - MARGIN_MS;
}

/**
 * `next` routes exactly as `held` (same contacts, each reached the same way) and lives at least as
 * long, and `held` has more than MARGIN_MS to live.
 */
function isRefreshOf(next: readonly Binding[], held: readonly Binding[], now: number): boolean {
  if (next.length !== held.length || flushAt(held) <= now) return false;
  for (const b of next) {
    const h = held.find((x) => x.contact === b.contact);
    if (h === undefined || b.expiresAt < h.expiresAt || !sameRoute(b, h)) return false;
  }
  return true;
}

/** Everything a shard routes or orders by, apart from the expiry and refresh time. */
function sameRoute(a: Binding, b: Binding): boolean {
  const s = a.source;
  const t = b.source;
  return a.q === b.q && s.transport === t.transport && s.address === t.address && s.port === t.port && s.connId === t.connId
    && a.instance === b.instance && a.regId === b.regId && a.userAgent === b.userAgent && samePath(a.path, b.path);
}

/** `update` with each binding that the main thread holds a later refresh of replaced by that. */
function repair(update: BindingUpdate, latest: BindingUpdate): BindingUpdate {
  let bindings: Binding[] | undefined;
  update.bindings.forEach((b, i) => {
    const j = findContact(latest.bindings, b.contact);
    const l = j === -1 ? undefined : latest.bindings[j]!;
    if (l !== undefined && (l.updatedAt ?? 0) > (b.updatedAt ?? 0)) (bindings ??= [...update.bindings])[i] = l;
  });
  return bindings === undefined ? update : { aor: update.aor, bindings };
}
