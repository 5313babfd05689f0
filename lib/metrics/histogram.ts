// A fixed-bucket histogram cheap enough for the shard's hot path (one loop over ~13 bounds per
// observation) whose snapshot is plain data, so shards' snapshots cross threads and add up.

/** Call setup (INVITE to first 2xx) bucket bounds in ms: answering machines in ms, people in seconds. */
export const CALL_SETUP_BOUNDS_MS: readonly number[] = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000];

export interface HistogramSnapshot {
  /** upper bounds (inclusive), ascending */
  bounds: number[];
  /** per bucket, not cumulative; one more than bounds (the last is above every bound) */
  counts: number[];
  sum: number;
  count: number;
}

export class Histogram {
  private readonly counts: number[];
  private sum = 0;
  private count = 0;

  constructor(private readonly bounds: readonly number[]) {
    this.counts = new Array<number>(bounds.length + 1).fill(0);
  }

  observe(value: number): void {
    const b = this.bounds;
    let i = 0;
    while (i < b.length && value > b[i]!) i++;
    this.counts[i]!++;
    this.sum += value;
    this.count++;
  }

  snapshot(): HistogramSnapshot {
    return { bounds: [...this.bounds], counts: [...this.counts], sum: this.sum, count: this.count };
  }
}

/** Sum of snapshots with the same bounds (shards' histograms into one). */
export function mergeHistograms(snaps: readonly HistogramSnapshot[], bounds: readonly number[]): HistogramSnapshot {
  const out: HistogramSnapshot = { bounds: [...bounds], counts: new Array<number>(bounds.length + 1).fill(0), sum: 0, count: 0 };
  for (const s of snaps) {
    if (s.counts.length !== out.counts.length) continue;
    for (let i = 0; i < s.counts.length; i++) out.counts[i]! += s.counts[i]!;
    out.sum += s.sum;
    out.count += s.count;
  }
  return out;
}
