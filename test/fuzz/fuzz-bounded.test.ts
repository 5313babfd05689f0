// A bounded fuzzing run in every `npm test`: mutations of the RFC 4475 corpus, our own valid
// messages and the regression cases, fed to a shard in this thread and to the running proxy over
// UDP and TCP. FUZZ_SECONDS (default 20, split between the two) and FUZZ_SEED change it; a
// failing input is saved under test/fuzz/corpus/ and replayed by corpus-replay.test.ts from then on.
// Long runs: `npm run fuzz -- --seconds 600`.
import t from 'tap';
import { loadSeeds, saveRegression } from './lib/seeds.js';
import { fuzzInThread, fuzzWire, type Finding } from './lib/targets.js';

const seconds = Number(process.env.FUZZ_SECONDS ?? 20);
const seed = Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31);
const { seeds, rfc4475, regressions } = loadSeeds();
if (rfc4475 === 0 && process.env.CI === 'true') t.fail('RFC 4475 corpus missing (set RFC4475_DIR)');
t.comment(`seed ${seed} (FUZZ_SEED=${seed} repeats this run); ${seeds.length} seeds: ${rfc4475} RFC 4475, ${regressions} regressions`);
const save = (f: Finding): void => { if (f.input.length > 0) t.comment(`saved ${saveRegression(f.input, f.why)}: ${f.why.split('\n')[0]}`); };

t.setTimeout((seconds + 60) * 1000);

t.test('in-thread: parser, transactions, proxy core, registrar', async (t) => {
  const r = await fuzzInThread({ seconds: seconds / 2, seed, seeds, onFinding: save });
  t.comment(`${r.inputs} inputs, slowest ${r.slowestMs} ms, ${JSON.stringify(r.detail)}`);
  t.same(r.findings.map((f) => f.why.split('\n')[0]), [], 'no crash, no internal error, no hang, nothing left behind');
});

t.test('wire: the running proxy over UDP and TCP', async (t) => {
  const r = await fuzzWire({ seconds: seconds / 2, seed: seed + 1, seeds, onFinding: save });
  t.comment(`${r.inputs} inputs, slowest OPTIONS probe ${r.slowestMs} ms, ${JSON.stringify(r.detail)}`);
  t.same(r.findings.map((f) => f.why.split('\n')[0]), [], 'no shard died, always answering, no internal error');
  t.ok((r.detail.rssGrowthMB as number) < 300, `memory growth bounded (${r.detail.rssGrowthMB} MB)`);
});
