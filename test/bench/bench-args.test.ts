// The bench scripts' command lines: --help prints the usage and exits 0 (nothing started), a wrong
// option or argument says what was wrong and exits 2 without a stack trace; --set a.b=v reaches
// our proxy's config by dotted path.
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { ourBenchConfig, ourProxyOptions, ourProxyVariants, parseSetting, type OurProxyArgValues } from '../../bench/lib/proxy.js';

const dist = join(import.meta.dirname, '..', '..', 'dist', 'bench');
const run = (script: string, ...args: string[]): { status: number | null; out: string; err: string } => {
  const r = spawnSync(process.execPath, [join(dist, script), ...args], { encoding: 'utf8', timeout: 20_000 });
  return { status: r.status, out: r.stdout, err: r.stderr };
};

t.test('--help prints the usage with our proxy options and exits 0', async (t) => {
  for (const script of ['calls.js', 'compare.js', 'register.js', 'memory.js', 'floor.js']) {
    const r = run(script, '--help');
    t.equal(r.status, 0, script);
    t.match(r.out, new RegExp(`^node dist/bench/${script.replace('.', '\\.')} `), `${script} usage first`);
    t.match(r.out, /--set shard\.batchMax=128/, `${script} lists the shared proxy options`);
    t.equal(r.err, '', `${script} nothing on stderr`);
  }
  for (const script of ['admin.js', 'resize.js', 'channel.js', 'main-thread.js', 'micro.js', 'shard-flow.js', 'shard-steady.js', 'shard-register.js', 'dialog-memory.js']) {
    const r = run(script, '--help');
    t.equal(r.status, 0, script);
    t.match(r.out, /^node .*dist\/bench\//, `${script} prints its usage`);
  }
});

t.test('an unknown option or a bad positional argument: one line and the usage, exit 2', async (t) => {
  const r = run('calls.js', '--rat', '300');
  t.equal(r.status, 2);
  t.match(r.err, /Unknown option '--rat'/);
  t.match(r.err, /node dist\/bench\/calls\.js \[--rate 200\]/);
  t.match(r.err, /\[--workers N\]  \(default: the proxy's 'auto', CPUs less one: \d+ here\)/);
  t.notMatch(r.err, /\n\s+at /, 'no stack trace');
  const rep = run('memory.js', '--repeat', '0');
  t.equal(rep.status, 2, 'memory.js: a bad --repeat exits 2 before anything starts');
  t.match(rep.err, /^--repeat: got "0", allowed: a whole number 1\.\.20/);
  t.match(run('memory.js', '--help').out, /\[--repeat 1\]/, 'memory.js lists --repeat');
  for (const script of ['calls.js', 'compare.js', 'register.js', 'floor.js']) {
    const s = run(script, '--set', '=1');
    t.equal(s.status, 2, `${script}: a bad --set exits 2 before anything starts`);
    t.match(s.err, /^--set =1: expected path=value/);
    t.notMatch(s.err, /\n\s+at /, `${script}: no stack trace`);
  }
  const tg = run('floor.js', '--targets', 'c,kamailo');
  t.equal(tg.status, 2, 'floor.js: an unknown target exits 2 before anything starts');
  t.match(tg.err, /^--targets: unknown kamailo; allowed: c, node-ours, node-dgram, kamailio, ours/);
  const p = run('shard-flow.js', 'many');
  t.equal(p.status, 2);
  t.match(p.err, /argument 1 must be a non-negative number, got 'many'/);
});

t.test('--refine: listed, a value outside 0..10 or without a sweep exits 2 before anything starts', async (t) => {
  for (const script of ['calls.js', 'compare.js', 'register.js']) t.match(run(script, '--help').out, /\[--refine 0\]/, `${script} lists --refine`);
  for (const [script, ...sweep] of [['calls.js', '--sweep'], ['register.js']]) {
    const r = run(script!, ...sweep, '--refine', '11');
    t.equal(r.status, 2, `${script}: --refine 11`);
    t.match(r.err, /^--refine: got "11", allowed: a whole number 0\.\.10/);
  }
  const noSweep = run('calls.js', '--refine', '2');
  t.equal(noSweep.status, 2);
  t.match(noSweep.err, /^--refine bisects after a sweep's first failed rate: give --sweep too/);
});

t.test('ab.js: usage, and a wrong command line exits 2 before anything is built', async (t) => {
  const help = run('ab.js', '--help');
  t.equal(help.status, 0);
  t.match(help.out, /^node dist\/bench\/ab\.js --base <git ref>/);
  const noBench = run('ab.js', '--base', 'HEAD');
  t.equal(noBench.status, 2);
  t.match(noBench.err, /^after --: the bench to run, one of calls, register; got nothing/);
  const badBench = run('ab.js', '--base', 'HEAD', '--', 'compare');
  t.equal(badBench.status, 2);
  t.match(badBench.err, /got 'compare'/);
  const badPairs = run('ab.js', '--base', 'HEAD', '--pairs', '0', '--', 'calls');
  t.equal(badPairs.status, 2);
  t.match(badPairs.err, /^--pairs: got "0", allowed: a whole number 1\.\.10/);
  const badRef = run('ab.js', '--base', 'no-such-ref-anywhere', '--', 'calls');
  t.equal(badRef.status, 2);
  t.match(badRef.err, /^--base: 'no-such-ref-anywhere' is not a commit of this checkout/);
  t.notMatch(badRef.err, /\n\s+at /, 'no stack trace');
});

t.test('--journal: the location journal in the run\'s dir with that fsync; in memory without it', async (t) => {
  const config = (args: OurProxyArgValues): { registrar: Record<string, unknown> } =>
    ourBenchConfig({ ...ourProxyOptions(args), uasPort: 5080, maxMs: 1000 }, '/tmp/run-dir', 5060) as { registrar: Record<string, unknown> };
  t.same(config({}).registrar, { storePath: '' }, 'default: in memory, as Kamailio\'s db_mode 0');
  t.same(config({ journal: 'always' }).registrar, { storePath: '/tmp/run-dir/location.msgpack', fsync: 'always' });
  t.equal(config({ journal: 'interval', set: ['registrar.fsync=never'] }).registrar.fsync, 'never', '--set comes last and wins');
  t.throws(() => ourProxyOptions({ journal: 'sometimes' }), /^--journal: got "sometimes", allowed: always, interval, never$/);
  for (const script of ['calls.js', 'compare.js', 'register.js']) {
    t.match(run(script, '--help').out, /\[--journal always\|interval\|never\]/, `${script} lists --journal`);
    const r = run(script, '--journal', 'sometimes');
    t.equal(r.status, 2, `${script}: a bad --journal exits 2 before anything starts`);
    t.match(r.err, /^--journal: got "sometimes"/);
  }
});

t.test('register.js --kamailio-register: listed; a value other than stateless or stateful exits 2', async (t) => {
  t.match(run('register.js', '--help').out, /\[--kamailio-register stateless\|stateful\]/);
  const r = run('register.js', '--kamailio-register', 'sometimes');
  t.equal(r.status, 2);
  t.match(r.err, /^--kamailio-register: got "sometimes", allowed: stateless, stateful/);
  t.notMatch(r.err, /\n\s+at /, 'no stack trace');
});

t.test('--set values: JSON when it parses, else the text; a bad path is refused', async (t) => {
  t.same(parseSetting('shard.batchMax=128'), ['shard.batchMax', 128]);
  t.same(parseSetting('transport.udpBatchSend=false'), ['transport.udpBatchSend', false]);
  t.same(parseSetting('log.level=info'), ['log.level', 'info']);
  t.same(parseSetting('security.exempt=["127.0.0.1"]'), ['security.exempt', ['127.0.0.1']]);
  t.same(parseSetting('a=b=c'), ['a', 'b=c'], 'only the first = splits');
  t.throws(() => parseSetting('=1'), /expected path=value/);
  t.throws(() => parseSetting('shard..batchMax=1'), /expected path=value/);
  t.throws(() => parseSetting('noequals'), /expected path=value/);
});

t.test('npm run fuzz: usage, and a wrong command line exits 2 before any fuzzing', async (t) => {
  const fuzz = (...args: string[]): { status: number | null; out: string; err: string } => {
    const r = spawnSync(process.execPath, [join(dist, '..', 'test', 'fuzz', 'lib', 'cli.js'), ...args], { encoding: 'utf8', timeout: 20_000 });
    return { status: r.status, out: r.stdout, err: r.stderr };
  };
  const help = fuzz('--help');
  t.equal(help.status, 0);
  t.match(help.out, /^npm run fuzz -- \[--seconds 60\]/);
  for (const [args, why] of [[['--seconds', 'x'], /^--seconds must be a positive number of seconds, got 'x'/], [['--seconds', '0'], /got '0'/],
    [['--seed=-1'], /^--seed must be a non-negative integer, got '-1'/], [['--target', 'foo'], /^--target must be one of in-thread, wire, both, got 'foo'/],
    [['--bogus'], /^Unknown option '--bogus'/]] as const) {
    const r = fuzz(...args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.err, why);
    t.match(r.err, /npm run fuzz -- \[--seconds 60\]/, 'the usage follows');
    t.notMatch(r.err, /\n\s+at /, 'no stack trace');
    t.equal(r.out, '', 'nothing fuzzed');
  }
});

t.test('--workers: one count for calls.js, a list for compare.js and register.js; a bad count exits 2', async (t) => {
  const list = run('calls.js', '--workers', '0,1');
  t.equal(list.status, 2);
  t.match(list.err, /^--workers: got "0,1", one count here \(compare\.js and register\.js take a list/);
  for (const script of ['calls.js', 'compare.js', 'register.js']) {
    const bad = run(script, '--workers', '1,x');
    t.equal(bad.status, 2, `${script}: --workers 1,x`);
    t.match(bad.err, /^--workers: got "1,x", allowed: an integer 0\.\.64 \(0: the shard on the main thread\)/);
    t.match(run(script, '--help').out, /--workers 1,0: a target per count/, `${script} documents the list`);
  }
});

t.test('ourProxyVariants: one set of options per count, in the order given, each count once', async (t) => {
  const v = ourProxyVariants({ workers: '1, 0,1', set: ['shard.batchMax=128'] });
  t.same(v.map((o) => o.workers), [1, 0]);
  t.same(v.map((o) => o.settings), [[['shard.batchMax', 128]], [['shard.batchMax', 128]]], 'the other options go to each');
});

t.test('--placement: a target per value (times each count), one value where one proxy runs, a bad value named', async (t) => {
  const v = ourProxyVariants({ workers: '1,2', placement: 'hash,load' });
  t.same(v.map((o) => [o.workers, o.placement]), [[1, 'hash'], [1, 'load'], [2, 'hash'], [2, 'load']]);
  t.same(ourProxyVariants({ workers: '1' }).map((o) => o.placement), [undefined], 'absent: the config default');
  t.equal(ourProxyOptions({ placement: 'load' }).placement, 'load');
  t.throws(() => ourProxyOptions({ placement: 'hash,load' }), /--placement: got "hash,load", one value here/);
  t.throws(() => ourProxyVariants({ placement: 'hash,random' }), /--placement: got "random", allowed: hash, load/);
  const config = ourBenchConfig({ workers: 1, placement: 'load', uasPort: 5090, maxMs: 1000 }, '/tmp', 5060) as { shard: { placement?: string } };
  t.equal(config.shard.placement, 'load', 'written into the config the proxy runs on');
});
