// The shard worker entry comes from the same build as the pool that starts it: a second build
// beside the first (an A/B benchmark from a copy of dist/) must run its own shards, not the
// package's dist/workers (it did until this was found: both sides of such a comparison ran the
// same shard code).
import t from 'tap';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { packageRoot } from '../../lib/config/load-config.js';
import { shardWorkerFile } from '../../lib/shard/shard-pool.js';

t.test('from the sources: the package build', async (t) => {
  t.equal(shardWorkerFile(), join(packageRoot(), 'dist', 'workers', 'shard.js'));
});

t.test('from a copy of the compiled build: that copy\'s worker entry', async (t) => {
  const root = packageRoot();
  // inside the package, so the copy's imports still find node_modules
  const copy = mkdtempSync(join(root, '.build-copy-'));
  t.teardown(() => rmSync(copy, { recursive: true, force: true }));
  cpSync(join(root, 'dist', 'lib'), join(copy, 'dist', 'lib'), { recursive: true });
  const mod = await import(pathToFileURL(join(copy, 'dist', 'lib', 'shard', 'shard-pool.js')).href) as { shardWorkerFile: () => string };
  t.equal(mod.shardWorkerFile(), join(copy, 'dist', 'workers', 'shard.js'));
});
