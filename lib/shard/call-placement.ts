// Where a new Call-ID goes under `shard.placement: load`: to the shard on the main thread while the
// main thread has room (its event-loop utilization under shard.mainThreadBusy), to the workers by
// hash above that. Nothing ever moves: every later message of a Call-ID goes where its state is
// (the main thread asks its shard first: ShardRuntime.owns), so below the threshold a call costs
// what `workers: 0` costs (no thread hand-over, no wake-up of a second thread), and above it the
// workers give their capacity as before (bench/PERFORMANCE.md, round 17).
//
// The main thread takes at most `budget` new Call-IDs per load sample; the rest go to the workers,
// so a step of load reaches them within the sample it starts in (4,000 calls/s from nothing, all
// placed on the main thread for the 0.1-0.5 s a utilization figure needs, set off retransmissions
// the bench machine never recovered from). The budget follows the utilization: down in proportion
// to the overshoot, up by a quarter while under GROW_BELOW of the target and at least half of it
// was used, so a steady load leaves it about twice what it uses.
//
// A Call-ID sent to a worker is remembered (RecentCallIdFilter) for as long as its transaction may
// still send us a message that carries no state of its own: a retransmission, or a CANCEL or the
// ACK of a non-2xx for an INVITE (Timer C plus 64*T1). Such a message finds no state on the main
// thread; the filter sends it to the worker that has it, not to the main thread's shard.
import { RecentCallIdFilter } from './recent-call-id-filter.js';

/** Below this fraction of the target the budget grows (between it and the target it holds). */
const GROW_BELOW = 0.8;
/** New Call-IDs per second the main thread may take before its first sample under load (1,000 calls/s cost ~35% of a CPU here). */
const INITIAL_PER_SECOND = 1500;

export interface PlacementOptions {
  /** event-loop utilization of the main thread up to which it takes new Call-IDs (0..1) */
  busyTarget: number;
  /** how long a Call-ID sent to a worker stays the workers' (Timer C + 64*T1 + a margin), ms */
  holdMs: number;
  /** time between load samples (overload.sampleMs): the budget is per sample */
  sampleMs: number;
}

export interface PlacementStats {
  /** new Call-IDs placed on the main thread's shard, and on the workers */
  placedOnMain: number;
  placedOnWorkers: number;
}

export class CallPlacement {
  /** new Call-IDs the main thread may take per sample, and those taken since the last one */
  private budget: number;
  private used = 0;
  private readonly toWorkers: RecentCallIdFilter;
  readonly stats: PlacementStats = { placedOnMain: 0, placedOnWorkers: 0 };
  /**
   * false until every worker of the start has answered once: until then they are still warming up
   * (shard.warmUpCalls), and a call placed there would wait for it (seconds, INVITEs retransmitted).
   * The budget does not apply meanwhile.
   */
  workersReady = false;

  constructor(private opts: PlacementOptions) {
    this.budget = (INITIAL_PER_SECOND * opts.sampleMs) / 1000;
    this.toWorkers = new RecentCallIdFilter(opts.holdMs);
  }

  configure(opts: PlacementOptions): void {
    if (opts.sampleMs !== this.opts.sampleMs) this.budget = (this.budget * opts.sampleMs) / this.opts.sampleMs;
    this.toWorkers.hold = opts.holdMs;
    this.opts = opts;
  }

  /** New Call-IDs per second the main thread may take now. */
  get mainBudgetPerSecond(): number {
    return (this.budget * 1000) / this.opts.sampleMs;
  }

  /**
   * A request that starts new work (no To tag, not ACK or CANCEL) for a Call-ID the main thread's
   * shard holds no state for (callIdHash: 32 bits): true to handle it there, false for the workers.
   */
  placeOnMain(hash: number, now: number): boolean {
    // a retransmission, or new work of a Call-ID a worker has (a REGISTER's authenticated retry)
    if (this.toWorkers.has(hash, now)) {
      this.stats.placedOnWorkers++;
      return false;
    }
    if (this.used < this.budget || !this.workersReady) {
      this.used++;
      this.stats.placedOnMain++;
      return true;
    }
    this.toWorkers.add(hash, now);
    this.stats.placedOnWorkers++;
    return false;
  }

  /** One load sample of the main thread (event-loop utilization over the last interval). */
  adjust(sample: number): void {
    const target = this.opts.busyTarget;
    const used = this.used;
    this.used = 0;
    if (sample > target) this.budget = Math.max(1, (this.budget * target) / sample);
    else if (sample < target * GROW_BELOW && used >= this.budget / 2) this.budget *= 1.25;
  }
}
