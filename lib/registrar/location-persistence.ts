// The main thread's replica of the location service, made durable by the journal (write-ahead log
// + snapshot, lib/persist/journal.ts): every BindingUpdate is written before the main thread sends
// the REGISTER's 200 (the shard puts the update ahead of the response in its batch), so a kill -9
// loses no acknowledged registration. Bindings are restored before any listener is bound.
import type { Logger } from '../log.js';
import { Journal, type FsyncPolicy } from '../persist/journal.js';
import type { Binding, BindingUpdate } from './binding.js';
import { LocationStore } from './location-store.js';

const NS = 'location';

export class PersistentLocation {
  readonly store: LocationStore;
  readonly journal: Journal | undefined;
  /** every namespace as loaded: other state kept in the same journal (e.g. 'rel100') reads its own */
  restored = new Map<string, Map<string, unknown>>();

  constructor(path: string, private readonly log: Logger, fsync: FsyncPolicy = 'interval', compactBytes?: number) {
    this.store = new LocationStore();
    if (path === '') return;
    this.journal = new Journal({
      path, fsync, compactBytes,
      migrate: migrateV1,
      onError: (err, what) => this.log.error({ err, path }, `location ${what} failed`),
    });
    let state;
    try {
      state = this.journal.load();
      this.restored = state;
    } catch (err) {
      // An unreadable snapshot is kept aside by the operator; we must not overwrite it blindly.
      this.log.error({ err, path }, 'location snapshot unreadable; refusing to start over it');
      throw err;
    }
    const now = Date.now();
    for (const [aor, bindings] of state.get(NS) ?? []) {
      const live = (bindings as Binding[]).filter((b) => b.expiresAt > now);
      if (live.length > 0) this.store.replace({ aor, bindings: live });
    }
    this.journal.provide(NS, () => this.#dump());
    const { tornRecords, walBytes } = this.journal.stats;
    this.log.info({ path, ...this.store.size(), walBytes, tornRecords }, 'location bindings restored');
  }

  apply(update: BindingUpdate): void {
    this.store.replace(update);
    this.journal?.put(NS, update.aor, update.bindings.length === 0 ? undefined : update.bindings);
  }

  /** Write a snapshot now and empty the log. */
  save(): void {
    this.journal?.compact();
  }

  close(): void {
    this.journal?.close();
  }

  *#dump(): Iterable<[string, unknown]> {
    const now = Date.now();
    for (const aor of this.store.aors()) {
      const live = this.store.lookup(aor, now);
      if (live.length > 0) yield [aor, live];
    }
  }
}

/** Version 1 files were a bare LocationStore snapshot: read them as the 'location' namespace. */
function migrateV1(data: unknown): Record<string, Array<[string, unknown]>> | undefined {
  const snap = data as { v?: unknown; updates?: unknown } | null;
  if (snap === null || typeof snap !== 'object' || snap.v !== 1 || !Array.isArray(snap.updates)) return undefined;
  return { [NS]: (snap.updates as BindingUpdate[]).map((u) => [u.aor, u.bindings]) };
}
