import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/config/load-config.js';
import { renderConfigReference } from '../../lib/config/reference.js';

t.test('the README config reference is the one generated from the schema', async (t) => {
  const readme = readFileSync(join(packageRoot(), 'README.md'), 'utf8');
  t.ok(readme.includes(renderConfigReference().trimEnd()), 'README table matches `node dist/lib/config/print-reference.js`');
});
