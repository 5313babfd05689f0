// A bounded map that forgets its oldest entries a generation at a time: writes go to the young
// generation; when that holds `generation` entries it becomes the old one and the previous old one
// is dropped whole. So the last `generation` keys written are always remembered, and at most twice
// that. Cheaper than an LRU (two Map operations, no per-entry links or clock reads) where "recently
// written" is the only order that matters: nonces and their nc counters.
export class TwoGenerationMap<V> {
  readonly #generation: number;
  #young = new Map<string, V>();
  #old = new Map<string, V>();

  constructor(generation: number) {
    this.#generation = Math.max(1, Math.floor(generation));
  }

  get(key: string): V | undefined {
    const v = this.#young.get(key);
    return v !== undefined ? v : this.#old.get(key);
  }

  set(key: string, value: V): void {
    if (this.#young.size >= this.#generation && !this.#young.has(key)) {
      this.#old = this.#young;
      this.#young = new Map();
    }
    this.#young.set(key, value);
  }
}
