// The main thread's record of 100rel disables learned by `auto` peers (lib/policy/rel100.ts): one
// entry per peer, written to the state journal beside the location service (namespace 'rel100')
// so a restart keeps them, broadcast to every shard, and removed by the operator's reset.
import type { StateJournal } from '../persist/journal.js';
import type { Rel100Learned } from '../policy/rel100.js';

const NS = 'rel100';

export class Rel100Memory {
  private readonly learned = new Map<string, Rel100Learned>();

  /** `restored`: the journal's 'rel100' namespace as loaded; no journal: memory only. */
  constructor(private readonly journal: StateJournal | undefined, restored?: ReadonlyMap<string, unknown>) {
    for (const [peer, v] of restored ?? []) {
      const l = v as Partial<Rel100Learned> | null;
      if (l !== null && typeof l === 'object' && typeof l.learnedAt === 'number') this.learned.set(peer, { peer, learnedAt: l.learnedAt, status: Number(l.status ?? 0) });
    }
    journal?.provide(NS, () => this.learned.entries());
  }

  /** A shard learned a disable; false when one was known already (a race between shards). */
  learn(l: Rel100Learned): boolean {
    if (this.learned.has(l.peer)) return false;
    this.learned.set(l.peer, l);
    this.journal?.put(NS, l.peer, l);
    return true;
  }

  /** The operator's reset: the peer is passthrough again until it refuses a PRACK again. */
  reset(peer: string): boolean {
    if (!this.learned.delete(peer)) return false;
    this.journal?.put(NS, peer, undefined);
    return true;
  }

  get(peer: string): Rel100Learned | undefined {
    return this.learned.get(peer);
  }

  list(): Rel100Learned[] {
    return [...this.learned.values()];
  }
}
