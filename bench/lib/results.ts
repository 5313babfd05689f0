// Writes a benchmark's results to bench/results/: <kind>-<timestamp>.json and .md, and the same
// as latest-<kind>.json / latest-<kind>.md. Also the machine description every result carries.
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { fileURLToPath } from 'node:url';
import { SIPP } from './sipp.js';

const RESULTS_DIR = fileURLToPath(new URL('../../../bench/results/', import.meta.url)); // from dist/bench/lib

function version(cmd: string, args: string[], re: RegExp): string {
  try {
    const out = execFileSync(cmd, args, { encoding: 'latin1', stdio: ['ignore', 'pipe', 'pipe'], timeout: 5000 });
    return re.exec(out)?.[1] ?? 'unknown';
  } catch (err) {
    const out = String((err as { stdout?: string }).stdout ?? '');
    return re.exec(out)?.[1] ?? 'not installed';
  }
}

export function machine(): Record<string, string | number> {
  return {
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? 'unknown',
    memGb: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    sipp: version(SIPP, ['-v'], /SIPp (v[^\s,]+?)\.?\s/),
    kamailio: version('/usr/sbin/kamailio', ['-v'], /version: kamailio ([^\s]+)/),
    commit: version('git', ['rev-parse', '--short', 'HEAD'], /^(\w+)/),
  };
}

export type Cell = string | number;

export function mdTable(headers: readonly string[], rows: readonly (readonly Cell[])[]): string {
  const line = (cells: readonly Cell[]): string => `| ${cells.map(String).join(' | ')} |`;
  return [line(headers), line(headers.map(() => '---')), ...rows.map(line)].join('\n');
}

/** Writes JSON (data + machine + command) and markdown; returns the paths written. */
export function writeResults(kind: string, command: string, data: unknown, markdown: string): string[] {
  mkdirSync(RESULTS_DIR, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  const m = machine();
  const json = `${JSON.stringify({ kind, at: new Date().toISOString(), command, machine: m, data }, null, 2)}\n`;
  const md = `# ${kind} benchmark\n\n\`${command}\` at ${new Date().toISOString()} on ${m.cpus} cores (${m.cpuModel}), ` +
    `node ${m.node}, sipp ${m.sipp}, kamailio ${m.kamailio}, commit ${m.commit}\n\n${markdown}\n`;
  const paths: string[] = [];
  for (const base of [`${kind}-${stamp}`, `latest-${kind}`]) {
    writeFileSync(`${RESULTS_DIR}${base}.json`, json);
    writeFileSync(`${RESULTS_DIR}${base}.md`, md);
    paths.push(`${RESULTS_DIR}${base}.json`, `${RESULTS_DIR}${base}.md`);
  }
  return paths;
}

export const fmt = (n: number, digits = 1): string => (Number.isFinite(n) ? n.toFixed(digits) : '-');
