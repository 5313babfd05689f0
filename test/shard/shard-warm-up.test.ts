// A shard thread's warm-up: made-up calls and registrations through a scratch ShardRuntime, bounded
// in count and time, on any running config (lines, trunks, routes and users of its own are taken
// out), never throwing.
import t from 'tap';
import { warmUpShard } from '../../lib/shard/shard-warm-up.js';
import { testConfig } from '../helpers/proxy-harness.js';

t.test('runs the calls asked for on the default config', async (t) => {
  const r = warmUpShard(testConfig(), 0, 300, 60_000);
  t.equal(r.error, undefined);
  t.equal(r.calls, 300);
});

t.test('registrations: challenged and answered with credentials (auth on), or answered at once (off); SHA-256 or MD5 first', async (t) => {
  for (const auth of [{ register: true }, { register: false }, { register: true, algorithms: ['MD5', 'SHA-256'] }]) {
    const r = warmUpShard(testConfig({ auth }), 0, 0, 60_000, 150);
    t.equal(r.error, undefined, JSON.stringify(auth));
    t.same([r.calls, r.registrations], [0, 150]);
  }
  const both = warmUpShard(testConfig(), 0, 100, 60_000, 100);
  t.same([both.calls, both.registrations, both.error], [100, 100, undefined], 'calls, then registrations');
});

t.test('what the made-up calls and registrations held has ended when the warm-up returns', async (t) => {
  // its transactions, dialogs and their timers become garbage young instead of living to the end
  const r = warmUpShard(testConfig(), 0, 300, 60_000, 300);
  t.same([r.calls, r.registrations, r.timersLeft], [300, 300, 0]);
});

t.test('the time bound stops long registrations too', async (t) => {
  const r = warmUpShard(testConfig(), 0, 0, 50, 1_000_000);
  t.ok(r.registrations > 0 && r.registrations < 1_000_000, `stopped after ${r.registrations}`);
  t.ok(r.ms < 3000, `${r.ms} ms`);
});

t.test('a config with lines, trunks and routes to them: the scratch shard has none of them', async (t) => {
  const config = testConfig({
    lines: [{ name: 'prov', registrar: 'sip:192.0.2.10:5060', username: 'acct1', password: 'x', expires: 300 }],
    trunks: [{ name: 'gw', addresses: ['192.0.2.20:5060'] }],
    routes: [{ prefix: '9', trunks: ['gw'] }, { prefix: '0', line: 'prov', strip: 1 }],
    domains: ['sip.example.net'],
    users: [{ username: 'warm-up', password: 'known' }],
  });
  const r = warmUpShard(config, 1, 200, 60_000, 50);
  t.equal(r.error, undefined, 'the calls went through its own route, the registrations to its own user');
  t.same([r.calls, r.registrations], [200, 50]);
});

t.test('0 calls is off; the time bound stops a long warm-up', async (t) => {
  t.same(warmUpShard(testConfig(), 0, 0), { calls: 0, registrations: 0, ms: 0 });
  const r = warmUpShard(testConfig(), 0, 1_000_000, 50);
  t.ok(r.calls < 1_000_000, `stopped after ${r.calls} calls`);
  t.ok(r.ms < 3000, `${r.ms} ms`);
});

t.test('a config the scratch copy refuses: no calls, the reason, no exception', async (t) => {
  const config = testConfig();
  const broken = { ...config, shard: { ...config.shard, youngGenerationMb: -1 } };
  const r = warmUpShard(broken, 0, 10, 60_000, 10);
  t.same([r.calls, r.registrations], [0, 0]);
  t.match(r.error, /youngGenerationMb/);
});
