import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { isAbsolute, join } from 'node:path';
import t from 'tap';
import { defaultConfigPath, loadConfigFile, packageRoot, parseConfigText, resolveWorkerCount, validateConfig } from '../../lib/config/load-config.js';

const examplePath = () => join(packageRoot(), 'config', 'example-carrier.yaml');

t.test('defaultConfigPath points at config/default.yaml of the package', async (t) => {
  const path = defaultConfigPath();
  t.ok(isAbsolute(path));
  t.match(path, /config[\\/]default\.yaml$/);
  t.ok(readFileSync(path, 'utf8').length > 0);
});

t.test('default.yaml loads: loopback UDP+TCP+TLS, demo users, auth on, route 9', async (t) => {
  const cfg = loadConfigFile(defaultConfigPath());
  t.same(cfg.listen, [
    { transport: 'udp', address: '127.0.0.1', port: 5060 },
    { transport: 'tcp', address: '127.0.0.1', port: 5060 },
    { transport: 'tls', address: '127.0.0.1', port: 5061 },
  ]);
  t.same(cfg.users.map((u) => u.username), ['100', '101', '102']);
  t.ok(cfg.users.every((u) => u.password.length > 0));
  t.equal(cfg.auth.register, true);
  t.equal(cfg.auth.invite, true);
  const route9 = cfg.routes.find((r) => r.prefix === '9');
  t.ok(route9, 'route with prefix 9 is active');
  t.equal(route9?.destination, 'sip:127.0.0.1:5080');
});

t.test('example-carrier.yaml loads', async (t) => {
  const cfg = loadConfigFile(examplePath());
  t.equal(cfg.workers, 14);
  t.equal(resolveWorkerCount(cfg), 14);
  t.same(cfg.auth.algorithms, ['SHA-256']);
  t.equal(cfg.users[1]?.displayName, '', 'omitted displayName defaults to empty');
  const fallback = cfg.routes.find((r) => r.prefix === '');
  t.equal(fallback?.strip, 0, 'omitted strip defaults to 0');
  t.equal(fallback?.prepend, '');
  t.equal(cfg.lines[0]?.requestUriParams, undefined, 'line cmcc takes the locale default');
  t.equal(cfg.lines[1]?.requestUriParams, '', "line voipco: explicit ''");
  t.same(cfg.trunks[1]?.keepAlive, { intervalSeconds: 30, failuresBeforeDown: 3 });
});

t.test('an empty file gives the full defaults, nested sections included', async (t) => {
  const cfg = parseConfigText('', 'empty.yaml');
  t.equal(cfg.locale, 'en');
  t.same(cfg.domains, ['127.0.0.1', 'localhost']);
  t.equal(cfg.workers, 'auto');
  t.equal(cfg.log.level, 'info');
  t.equal(cfg.listen.length, 3);
  t.equal(cfg.tls.minVersion, 'TLSv1.2');
  t.equal(cfg.tls.certFile, '', 'self-signed unless configured');
  t.equal(cfg.transport.maxMessageBytes, 65535);
  t.equal(cfg.transport.maxConnectionsPerSource, 100);
  t.equal(cfg.shard.maxInFlight, 20000);
  t.equal(cfg.proxy.timerCSeconds, 181);
  t.equal(cfg.proxy.t1Ms, 500);
  t.same(cfg.auth.algorithms, ['SHA-256', 'MD5']);
  t.equal(cfg.registrar.defaultExpires, 3600);
  t.equal(cfg.registrar.storePath, './data/location.msgpack');
  t.same(cfg.users, []);
  t.same(cfg.routes, []);
  t.same(cfg.admin, { enabled: true, address: '127.0.0.1', port: 8080, token: '', tokenFile: './data/admin.token', certFile: '', keyFile: '' });
});

t.test('partly given sections are completed with defaults', async (t) => {
  const cfg = parseConfigText('proxy: { t1Ms: 250 }\nlisten: [{ transport: tcp }]\n', 'partial.yaml');
  t.equal(cfg.proxy.t1Ms, 250);
  t.equal(cfg.proxy.maxForwards, 70);
  t.same(cfg.listen, [{ transport: 'tcp', address: '127.0.0.1', port: 5060 }]);
});

t.test('the result is deep-frozen and the input is not modified', async (t) => {
  const raw = { users: [{ username: 'a', password: 'p' }] };
  const cfg = validateConfig(raw, 'object');
  t.same(raw, { users: [{ username: 'a', password: 'p' }] }, 'defaults not written into the caller object');
  t.ok(Object.isFrozen(cfg));
  t.ok(Object.isFrozen(cfg.auth));
  t.ok(Object.isFrozen(cfg.auth.algorithms));
  t.ok(Object.isFrozen(cfg.users[0]));
  t.throws(() => {
    (cfg.proxy as { t1Ms: number }).t1Ms = 1;
  }, TypeError);
});

t.test('resolveWorkerCount: auto leaves a CPU to the main thread, at most 64; one CPU: the shard on the main thread', async (t) => {
  t.equal(resolveWorkerCount({ workers: 'auto' }, 1), 0);
  t.equal(resolveWorkerCount({ workers: 'auto' }, 2), 1);
  t.equal(resolveWorkerCount({ workers: 'auto' }, 8), 7);
  t.equal(resolveWorkerCount({ workers: 'auto' }, 200), 64);
  t.equal(resolveWorkerCount({ workers: 'auto' }), Math.max(0, availableParallelism() - 1));
  t.equal(resolveWorkerCount({ workers: 3 }, 2), 3, 'an explicit count is kept, even above the CPUs');
});
