import t from 'tap';
import { renderConfigReference } from '../../lib/config/reference.js';
import { ConfigSchema } from '../../lib/config/schema.js';

t.test('the reference table lists every top-level key and nested field', async (t) => {
  const md = renderConfigReference();
  t.match(md, /^\| Path \| Type \| Default \| Description \|\n\| --- \| --- \| --- \| --- \|\n/);
  for (const key of Object.keys(ConfigSchema.properties)) t.match(md, `| \`${key}\` |`, key);
  t.match(md, '| `listen[].port` | an integer 0..65535 | `5060` |');
  t.match(md, '| `users[].username` |');
  t.match(md, '| `auth.algorithms` |');
  t.match(md, /\| `routes\[\]\.prefix` \| [^|]+ \| required \|/);
  t.match(md, /\| `lines\[\]\.requestUriParams` \| [^|]+ \|  \| [^|]*locale is Chinese/, 'the locale-dependent default is described, not a fixed one');
});

t.test('every field carries a description', async (t) => {
  const rows = renderConfigReference().trimEnd().split('\n').slice(2);
  for (const row of rows) {
    const description = row.split(/(?<!\\)\|/)[4]?.trim() ?? '';
    t.ok(description.length > 0, row);
  }
});
