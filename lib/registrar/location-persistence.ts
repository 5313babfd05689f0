// The main thread's replica of the location service, saved to disk so bindings survive a restart:
// msgpackr snapshot, written atomically (temp file + rename) at most once per interval.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../log.js';
import type { BindingUpdate } from './binding.js';
import { LocationStore } from './location-store.js';

export class PersistentLocation {
  readonly store: LocationStore;
  private timer: NodeJS.Timeout | undefined;

  constructor(private readonly path: string, private readonly log: Logger, private readonly intervalMs = 1000) {
    this.store = path !== '' && existsSync(path) ? this.load(path) : new LocationStore();
  }

  private load(path: string): LocationStore {
    try {
      const store = LocationStore.restore(readFileSync(path));
      this.log.info({ path, ...store.size() }, 'location bindings restored');
      return store;
    } catch (err) {
      this.log.error({ err, path }, 'location snapshot unreadable; starting empty');
      return new LocationStore();
    }
  }

  apply(update: BindingUpdate): void {
    this.store.replace(update);
    if (this.path !== '' && this.timer === undefined) {
      this.timer = setTimeout(() => this.save(), this.intervalMs);
    }
  }

  save(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    if (this.path === '') return;
    try {
      mkdirSync(dirname(this.path), { recursive: true });
      const tmp = `${this.path}.tmp`;
      writeFileSync(tmp, this.store.snapshot());
      renameSync(tmp, this.path);
    } catch (err) {
      this.log.error({ err, path: this.path }, 'could not save location snapshot');
    }
  }
}
