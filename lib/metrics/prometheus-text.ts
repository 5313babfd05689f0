// Prometheus text exposition format 0.0.4: HELP and TYPE once per family, then its samples.
// Hand-written rather than prom-client: every figure is a snapshot gathered from the shards at
// scrape time, which prom-client's increment-only counters do not model.
import type { HistogramSnapshot } from './histogram.js';

export type Labels = Readonly<Record<string, string | number>>;
export type Sample = readonly [Labels, number];

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

const escapeHelp = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
const escapeLabel = (s: string): string => s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels);
  if (keys.length === 0) return '';
  return `{${keys.map((k) => `${k}="${escapeLabel(String(labels[k]))}"`).join(',')}}`;
}

function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  return String(v);
}

export class PrometheusText {
  private readonly lines: string[] = [];
  private readonly families = new Set<string>();

  private family(name: string, type: 'counter' | 'gauge' | 'histogram', help: string): void {
    if (this.families.has(name)) throw new Error(`metric family ${name} written twice`);
    this.families.add(name);
    this.lines.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`);
  }

  /** A counter family; `name` ends in _total. A bare number is one unlabelled sample. */
  counter(name: string, help: string, samples: number | readonly Sample[]): this {
    return this.simple(name, 'counter', help, samples);
  }

  gauge(name: string, help: string, samples: number | readonly Sample[]): this {
    return this.simple(name, 'gauge', help, samples);
  }

  private simple(name: string, type: 'counter' | 'gauge', help: string, samples: number | readonly Sample[]): this {
    this.family(name, type, help);
    const list: readonly Sample[] = typeof samples === 'number' ? [[{}, samples]] : samples;
    for (const [labels, v] of list) this.lines.push(`${name}${formatLabels(labels)} ${formatValue(v)}`);
    return this;
  }

  /** A histogram from a snapshot; `scale` converts its unit (1/1000 for ms observed, seconds exposed). */
  histogram(name: string, help: string, snap: HistogramSnapshot, scale = 1): this {
    this.family(name, 'histogram', help);
    let cumulative = 0;
    snap.bounds.forEach((bound, i) => {
      cumulative += snap.counts[i] ?? 0;
      this.lines.push(`${name}_bucket{le="${formatValue(Number((bound * scale).toPrecision(12)))}"} ${cumulative}`);
    });
    this.lines.push(`${name}_bucket{le="+Inf"} ${snap.count}`, `${name}_sum ${formatValue(snap.sum * scale)}`, `${name}_count ${snap.count}`);
    return this;
  }

  toString(): string {
    return `${this.lines.join('\n')}\n`;
  }
}
