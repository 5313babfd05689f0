// The node options the proxy runs with (lib/node-flags.ts): `npm start` passes each of them, and a
// process started without one is told which (lib/cli.ts logs it).
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../lib/config/load-config.js';
import { missingProxyFlags, PROXY_NODE_FLAGS } from '../../lib/node-flags.js';

t.test('npm start passes every one of them to node, before the script', async (t) => {
  const pkg = JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  const start = pkg.scripts['start']!;
  const node = start.slice(start.lastIndexOf('node '));
  t.ok(PROXY_NODE_FLAGS.length > 0);
  for (const f of PROXY_NODE_FLAGS) {
    const at = node.indexOf(` ${f} `);
    t.ok(at !== -1 && at < node.indexOf('dist/lib/cli.js'), `${f} in "${node}"`);
  }
});

t.test('missing flags: by option name, from the command line or NODE_OPTIONS', async (t) => {
  t.same(missingProxyFlags([], undefined), [...PROXY_NODE_FLAGS], 'none given: all missing');
  t.same(missingProxyFlags([...PROXY_NODE_FLAGS], undefined), [], 'all on the command line');
  t.same(missingProxyFlags([], PROXY_NODE_FLAGS.join(' ')), [], 'all in NODE_OPTIONS');
  t.same(missingProxyFlags(['--max-semi-space-size=8', '--v8-pool-size=4'], undefined), [], 'another value of the same option is the operator\'s choice');
  t.same(missingProxyFlags(['--max_semi_space_size=2'], '--v8-pool-size=2'), [], 'V8 spells it with underscores too');
  t.same(missingProxyFlags(['--max-semi-space-size=4'], undefined), ['--v8-pool-size=0'], 'only the one not given');
  t.same(missingProxyFlags(['--max-old-space-size=4096', '--cpu-prof'], '--trace-warnings'), [...PROXY_NODE_FLAGS], 'other options do not count');
});

t.test('this node honours --v8-pool-size=0: one V8 helper thread per CPU it may use, less one (at least one)', async (t) => {
  const pool = PROXY_NODE_FLAGS.find((f) => f.startsWith('--v8-pool-size='));
  t.equal(pool, '--v8-pool-size=0');
  // threads of a node that waited for its platform to start: the helpers are the difference
  const threads = (flags: string[]): number => Number(execFileSync(process.execPath, [...flags, '-e',
    "setTimeout(() => process.stdout.write(String(require('node:fs').readdirSync('/proc/self/task').length)), 50)"], { encoding: 'utf8' }));
  const withOne = threads(['--v8-pool-size=1']);
  const withFlags = threads([...PROXY_NODE_FLAGS]);
  t.equal(withFlags - withOne, Math.max(1, availableParallelism() - 1) - 1, `${withFlags} threads against ${withOne} with one helper, ${availableParallelism()} CPUs`);
});
