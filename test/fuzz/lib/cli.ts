// `npm run fuzz -- --seconds N [--seed S] [--target in-thread|wire|both]`: a long fuzzing run.
// Every failing input is saved under test/fuzz/corpus/ (replayed by test/fuzz/corpus-replay.test.ts);
// exit 1 when anything failed.
import { orUsage, parseBenchArgs } from '../../../bench/lib/args.js';
import { loadSeeds, saveRegression } from './seeds.js';
import { fuzzInThread, fuzzWire, type Finding, type FuzzReport } from './targets.js';

const USAGE = 'npm run fuzz -- [--seconds 60] [--seed S] [--target in-thread|wire|both]';
const TARGETS = ['in-thread', 'wire', 'both'];
const { values } = parseBenchArgs(USAGE, { options: { seconds: { type: 'string', default: '60' }, seed: { type: 'string' }, target: { type: 'string', default: 'both' } } });
const seconds = orUsage(USAGE, () => positive('--seconds', values.seconds));
const seed = values.seed === undefined ? Date.now() % 2 ** 31 : orUsage(USAGE, () => integer('--seed', values.seed!));
orUsage(USAGE, () => { if (!TARGETS.includes(values.target)) throw new Error(`--target must be one of ${TARGETS.join(', ')}, got '${values.target}'`); });

function positive(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n <= 0) throw new Error(`${name} must be a positive number of seconds, got '${text}'`);
  return n;
}

function integer(name: string, text: string): number {
  const n = Number(text);
  if (text.trim() === '' || !Number.isSafeInteger(n) || n < 0) throw new Error(`${name} must be a non-negative integer, got '${text}'`);
  return n;
}
const { seeds, rfc4475, regressions } = loadSeeds();
process.stdout.write(`fuzzing ${seconds}s, seed ${seed}, ${seeds.length} seeds (${rfc4475} RFC 4475, ${regressions} regressions)\n`);
const save = (f: Finding): void => {
  if (f.input.length === 0) return;
  process.stdout.write(`FOUND ${saveRegression(f.input, f.why)}: ${f.why.split('\n')[0]}\n`);
};
const reports: FuzzReport[] = [];
const both = values.target === 'both';
const share = both ? seconds / 2 : seconds;
if (both || values.target === 'in-thread') reports.push(await fuzzInThread({ seconds: share, seed, seeds, onFinding: save }));
if (both || values.target === 'wire') reports.push(await fuzzWire({ seconds: share, seed: seed + 1, seeds, onFinding: save }));
for (const r of reports) {
  process.stdout.write(`${r.target}: ${r.inputs} inputs, ${r.findings.length} findings, slowest ${r.slowestMs} ms ${JSON.stringify(r.detail)}\n`);
  for (const f of r.findings) process.stdout.write(`  - ${f.why.split('\n')[0]}\n`);
}
process.exit(reports.some((r) => r.findings.length > 0) ? 1 : 0);
