// A/B of two builds on the same load: a git ref built in a package root of its own (A) and this
// checkout's dist/ (B), the bench run on each in turn. A package root of its own matters: the proxy
// finds its shard worker from its own build, and a copy of dist/ inside this checkout would once
// have run this checkout's shards (bench/PERFORMANCE.md, round 6). Usage: --help.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ourSteps, shardToMain, summarize, type AbRun } from './lib/ab-summary.js';
import { killAll, startBounded, stopChildrenOnSignal } from './lib/child.js';
import { orUsage, parseBenchArgs } from './lib/args.js';
import { fmt, mdTable, writeResults } from './lib/results.js';

const USAGE = `
node dist/bench/ab.js --base <git ref> [--pairs 3] [--keep] -- <calls|register> [that bench's options]
  Builds <git ref> in a git worktree under the temp dir (this checkout's node_modules and native
  addon linked in), then runs the bench on it (A) and on this checkout's dist/ (B), alternating,
  --pairs times (1..10), and prints each run's CPU per 1,000 of our proxy, its split by thread and
  the shards' CPU relative to the main thread's, then per rate B's medians against A's. Run
  npm run build first. --keep leaves the worktree (its path is printed).
  e.g. node dist/bench/ab.js --base HEAD~1 -- calls --rate 3500 --duration 12
`;
const BENCHES = new Set(['calls', 'register']);
/** longest one bench run may take (a register sweep with Kamailio included is a few minutes) */
const RUN_MAX_MS = 30 * 60_000;

const ROOT = fileURLToPath(new URL('../../', import.meta.url)); // from dist/bench
const argv = process.argv.slice(2);
const cut = argv.indexOf('--');
const { values } = parseBenchArgs(USAGE, {
  args: cut === -1 ? argv : argv.slice(0, cut),
  options: { base: { type: 'string' }, pairs: { type: 'string', default: '3' }, keep: { type: 'boolean', default: false } },
});
const { bench, benchArgs, pairs, base } = orUsage(USAGE, () => {
  const rest = cut === -1 ? [] : argv.slice(cut + 1);
  const name = rest[0];
  if (name === undefined || !BENCHES.has(name)) throw new Error(`after --: the bench to run, one of ${[...BENCHES].join(', ')}; got ${name === undefined ? 'nothing' : `'${name}'`}`);
  const n = Number(values.pairs);
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new Error(`--pairs: got "${values.pairs}", allowed: a whole number 1..10`);
  if (values.base === undefined || values.base === '') throw new Error('--base <git ref> is required');
  return { bench: name, benchArgs: rest.slice(1), pairs: n, base: values.base };
});
const sha = orUsage(USAGE, () => {
  try {
    return execFileSync('git', ['-C', ROOT, 'rev-parse', '--verify', '--quiet', `${base}^{commit}`], { encoding: 'utf8' }).trim();
  } catch {
    throw new Error(`--base: '${base}' is not a commit of this checkout`);
  }
});
if (!existsSync(join(ROOT, 'dist', 'bench', `${bench}.js`))) {
  process.stderr.write(`no dist/bench/${bench}.js here: run npm run build first\n`);
  process.exit(2);
}

/** The base built in a worktree; its path. A failure says what failed and exits 1, leaving nothing behind. */
function buildBase(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'sipshard-ab-')), 'base');
  try {
    execFileSync('git', ['-C', ROOT, 'worktree', 'add', '--detach', dir, sha], { stdio: 'ignore' });
    symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
    if (existsSync(join(ROOT, 'build'))) symlinkSync(join(ROOT, 'build'), join(dir, 'build'));
    process.stdout.write(`A: ${base} (${sha.slice(0, 7)}) building in ${dir}\n`);
    // its compiler errors, if any, go to the terminal as they come
    execFileSync(process.execPath, [join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(dir, 'tsconfig.json')], { stdio: 'inherit' });
    return dir;
  } catch (err) {
    process.stderr.write(`could not build ${base} (${sha.slice(0, 7)}) in ${dir}: ${(err as Error).message.split('\n')[0]}\n`);
    removeBase(dir);
    process.exit(1);
  }
}

/** The worktree unregistered (if it was made) and its temp folder gone. */
function removeBase(dir: string): void {
  try {
    execFileSync('git', ['-C', ROOT, 'worktree', 'remove', '--force', dir], { stdio: 'ignore' });
  } catch { /* a build that failed before the worktree was made */ }
  rmSync(join(dir, '..'), { recursive: true, force: true });
}

/** One run of the bench in a package root; our proxy's steps from the result file it wrote. */
async function runOnce(root: string, label: string): Promise<AbRun['steps']> {
  const started = Date.now();
  const log = join(tmpdir(), `sipshard-ab-${process.pid}-${label}.log`);
  const child = startBounded(`${bench} (${label})`, process.execPath, [join(root, 'dist', 'bench', `${bench}.js`), ...benchArgs], RUN_MAX_MS, { cwd: root, logFile: log });
  const code = await child.exited;
  const out = readFileSync(log, 'utf8');
  rmSync(log, { force: true });
  for (const line of out.split('\n')) if (/rate +\d+\/s:/.test(line)) process.stdout.write(`${label} ${line}\n`);
  if (code !== 0) throw new Error(`${bench} on ${label} exited ${code}:\n${out.trim().split('\n').slice(-8).join('\n')}`);
  const result = JSON.parse(readFileSync(join(root, 'bench', 'results', `latest-${bench}.json`), 'utf8')) as { at: string; data: unknown };
  if (Date.parse(result.at) < started) throw new Error(`${bench} on ${label} wrote no result file`);
  return ourSteps(result.data);
}

stopChildrenOnSignal();
const baseDir = buildBase();
const runs: AbRun[] = [];
try {
  for (let pair = 1; pair <= pairs; pair++) {
    runs.push({ side: 'A', pair, steps: await runOnce(baseDir, 'A') });
    runs.push({ side: 'B', pair, steps: await runOnce(ROOT, 'B') });
  }
} catch (err) {
  process.stderr.write(`${(err as Error).message}\n`);
  process.exitCode = 1;
} finally {
  await killAll();
  if (values.keep) process.stdout.write(`kept ${baseDir}\n`);
  else removeBase(baseDir);
}

if (runs.length > 0) {
  const rows = runs.flatMap((r) => r.steps.map((s) => {
    const stm = shardToMain(s);
    return [r.side, r.pair, s.rate, fmt(s.cpuPer1000, 3), s.split === undefined ? '-' : `${fmt(s.split.main, 2)}/${fmt(s.split.shards, 2)}/${fmt(s.split.other, 2)}`, stm === undefined ? '-' : fmt(stm, 2), s.verdict];
  }));
  const summary = summarize(runs);
  const ratio = (x: number | undefined): string => (x === undefined ? '-' : fmt(x, 3));
  const md = [
    `A = ${base} (${sha.slice(0, 7)}), B = this checkout; \`${bench}\` ${benchArgs.join(' ')}, ${pairs} alternating pair(s), A first.`, '',
    mdTable(['side', 'pair', 'rate/s', 'CPU s/1000', 'CPU s main/shards/other', 'shards / main', 'verdict'], rows), '',
    mdTable(['rate/s', 'A: CPU s/1000', 'B: CPU s/1000', 'B / A (medians)', 'A: shards / main', 'B: shards / main', 'B / A (medians)'],
      summary.map((s) => [s.rate, s.a.cpuPer1000.map((v) => fmt(v, 3)).join(' / '), s.b.cpuPer1000.map((v) => fmt(v, 3)).join(' / '), ratio(s.cpuRatio),
        s.a.shardToMain.map((v) => fmt(v, 2)).join(' / '), s.b.shardToMain.map((v) => fmt(v, 2)).join(' / '), ratio(s.shardToMainRatio)])),
  ].join('\n');
  process.stdout.write(`\n${md}\n`);
  const command = `node dist/bench/ab.js --base ${base} --pairs ${pairs} -- ${bench} ${benchArgs.join(' ')}`.trim();
  process.stdout.write(`${writeResults('ab', command, { base, baseCommit: sha, bench, benchArgs, runs, summary }, md).slice(0, 2).join('\n')}\n`);
}
