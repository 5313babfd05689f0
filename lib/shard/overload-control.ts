// When to shed new work on the main thread (lib/server.ts), from three cheap signals sampled every
// `sampleMs`: the main thread's event-loop utilization (perf_hooks), the shards' backlog (the
// most messages one shard had queued or in hand, not yet acknowledged, during the interval) and the
// bytes waiting in our UDP sockets' kernel receive queues (lib/transport/udp-rx-queue.ts: where
// datagrams pile up when the main thread itself is the bottleneck and the shards look idle).
// Utilization counts only while SIP traffic is heavy (minMessagesPerSecond): a busy loop at start,
// during a config reload or an admin request is not SIP overload and must not refuse calls. Shedding
// starts when any signal stays at or over its high mark for sustainSamples samples in a row (one
// busy interval, a GC pause or a burst, is not overload) and stops only once all are at or below
// their low marks (hysteresis), so it does not flap. While shedding, a budget of 503s per second
// keeps even the refusals from costing more than the work they refuse.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { UdpRxQueue } from '../transport/udp-rx-queue.js';

export interface OverloadSettings {
  enabled: boolean;
  sampleMs: number;
  sustainSamples: number;
  eluHigh: number;
  eluLow: number;
  backlogHigh: number;
  backlogLow: number;
  rxQueueHighBytes: number;
  rxQueueLowBytes: number;
  minMessagesPerSecond: number;
  max503PerSecond: number;
}

/**
 * One sample of the load: utilization in [0, 1] and SIP messages received per second over the
 * interval, backlog in messages, rxQueue in bytes (0 where it cannot be read).
 */
export interface LoadSample {
  elu: number;
  backlog: number;
  rate: number;
  rxQueue: number;
}

export interface OverloadStats {
  /** new requests answered 503 + Retry-After by the main thread */
  shed503: number;
  /** new requests dropped unanswered: over the 503 budget, or too malformed to answer */
  shedDropped: number;
  /** new requests let through while shedding: they answer our digest challenge (work under way) */
  admittedAnswers: number;
  /** times shedding began */
  episodes: number;
  /** the last sample */
  elu: number;
  backlog: number;
  /** SIP messages received per second */
  rate: number;
  /** bytes in our UDP sockets' kernel receive queues (0 without /proc) */
  rxQueueBytes: number;
  /** datagrams the kernel dropped on our UDP sockets, receive buffer full (a running total; 0 without /proc) */
  rxDrops: number;
}

export class OverloadControl {
  readonly stats: OverloadStats = { shed503: 0, shedDropped: 0, admittedAnswers: 0, episodes: 0, elu: 0, backlog: 0, rate: 0, rxQueueBytes: 0, rxDrops: 0 };
  private on = false;
  /** consecutive samples over a high mark */
  private over = 0;
  private budget = 0;
  private budgetAt = 0;

  constructor(private settings: OverloadSettings, private readonly now: () => number = Date.now) {}

  /** True while new out-of-dialog requests are to be refused. */
  get shedding(): boolean {
    return this.on;
  }

  /** A reload's thresholds apply from the next sample. */
  configure(settings: OverloadSettings): void {
    this.settings = settings;
    if (!settings.enabled) this.on = false;
  }

  /** Feed one sample; returns whether shedding is on after it. */
  update(s: LoadSample): boolean {
    const o = this.settings;
    this.stats.elu = s.elu;
    this.stats.backlog = s.backlog;
    this.stats.rate = s.rate;
    this.stats.rxQueueBytes = s.rxQueue;
    if (!o.enabled) return (this.on = false);
    // eluHigh 1 turns utilization off: a main thread busy all the time is not overloaded while the
    // shards keep up (measured: 1.0 at 12,000 REGISTER/s with every one answered in time)
    const eluCounts = o.eluHigh < 1 && s.rate >= o.minMessagesPerSecond;
    const high = (eluCounts && s.elu >= o.eluHigh) || s.backlog >= o.backlogHigh || s.rxQueue >= o.rxQueueHighBytes;
    this.over = high ? this.over + 1 : 0;
    if (!this.on && this.over >= o.sustainSamples) {
      this.on = true;
      this.stats.episodes++;
    } else if (this.on && (!eluCounts || s.elu <= o.eluLow) && s.backlog <= o.backlogLow && s.rxQueue <= o.rxQueueLowBytes) {
      this.on = false;
    }
    return this.on;
  }

  /** Whether one more 503 fits this second's budget (else the request is dropped: count it). */
  take503(): boolean {
    const now = this.now();
    if (now - this.budgetAt >= 1000) {
      this.budgetAt = now;
      this.budget = this.settings.max503PerSecond;
    }
    if (this.budget <= 0) return false;
    this.budget--;
    return true;
  }
}

/** Samples the real signals every sampleMs into `control` (the timer does not hold the process open). */
export class OverloadSampler {
  private last: EventLoopUtilization = performance.eventLoopUtilization();
  private lastAt = performance.now();
  private lastReceived = 0;
  private timer: NodeJS.Timeout | undefined;
  private every = 0;
  /** told every sample (call placement by load follows the main thread's utilization) */
  sampled: ((sample: LoadSample) => void) | undefined;

  /**
   * `received`: SIP messages received so far (a running total); `rxQueue`: our UDP receive queues
   * now; `changed`: shedding started or stopped on this sample (for the log).
   */
  constructor(
    private readonly control: OverloadControl,
    private readonly backlogPeak: () => number,
    private readonly received: () => number,
    private readonly rxQueue: () => UdpRxQueue,
    private readonly changed: (shedding: boolean, sample: LoadSample) => void = () => undefined,
  ) {}

  start(sampleMs: number): void {
    if (this.timer !== undefined && this.every === sampleMs) return;
    this.stop();
    this.every = sampleMs;
    this.last = performance.eventLoopUtilization();
    this.timer = setInterval(() => this.sample(), sampleMs);
    this.timer.unref();
  }

  sample(): void {
    const now = performance.eventLoopUtilization();
    const elu = performance.eventLoopUtilization(now, this.last).utilization;
    this.last = now;
    const at = performance.now();
    const received = this.received();
    const rate = at > this.lastAt ? ((received - this.lastReceived) * 1000) / (at - this.lastAt) : 0;
    this.lastAt = at;
    this.lastReceived = received;
    const rx = this.rxQueue();
    this.control.stats.rxDrops = rx.drops;
    const sample = { elu, backlog: this.backlogPeak(), rate, rxQueue: rx.bytes };
    const was = this.control.shedding;
    if (this.control.update(sample) !== was) this.changed(!was, sample);
    this.sampled?.(sample);
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }
}
