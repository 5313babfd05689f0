import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { isSipProxyError } from '../../lib/errors.js';
import { loadConfigFile, parseConfigText, validateConfig } from '../../lib/config/load-config.js';

/** The message of the SIP_ERR_CONFIG that loading `yaml` throws. */
function configErrorOf(t: Test, yaml: string): string {
  try {
    parseConfigText(yaml, 'test.yaml');
  } catch (err) {
    t.ok(isSipProxyError(err, 'SIP_ERR_CONFIG'), 'SIP_ERR_CONFIG');
    return (err as Error).message;
  }
  t.fail('expected a config error');
  return '';
}

const singleProblems: Array<[name: string, yaml: string, line: string]> = [
  ['port out of range names path, value and range', 'listen:\n  - { transport: udp, port: 5060 }\n  - { transport: tcp, port: 70000 }\n', 'listen[1].port: got 70000, must be an integer 0..65535'],
  ['bad transport lists the allowed ones', 'listen: [{ transport: sctp }]\n', 'listen[0].transport: got "sctp", must be one of udp, tcp, tls'],
  ['missing required key', 'trunks: [{ name: "a" }]\n', 'trunks[0].addresses: missing, must be a non-empty list without duplicates, each an IP address with an optional :port ([v6]:port)'],
];
for (const [name, yaml, line] of singleProblems) {
  t.test(name, async (t) => {
    t.match(configErrorOf(t, yaml), `invalid config test.yaml: 1 problem\n  ${line}`);
  });
}

t.test('unknown key lists the allowed keys and suggests the near one', async (t) => {
  const msg = configErrorOf(t, 'lisen: []\n');
  t.match(msg, "lisen: unknown key 'lisen' with value []");
  t.match(msg, '(allowed: locale, domains, workers, log, listen,');
  t.match(msg, "did you mean 'listen'?");
  const nested = configErrorOf(t, 'auth: { relm: x }\n');
  t.match(nested, "auth.relm: unknown key 'relm' with value \"x\" (allowed: realm, register, invite, algorithms, nonceTtlSeconds; did you mean 'realm'?)");
});

t.test('wrong types', async (t) => {
  const msg = configErrorOf(t, 'workers: lots\nproxy: { recordRoute: "yes" }\ntransport: 5\ndomains: localhost\nusers:\n  - { username: 100, password: x }\n');
  t.match(msg, `workers: got "lots", must be 'auto' or an integer 0..64`);
  t.match(msg, 'proxy.recordRoute: got "yes", must be true or false');
  t.match(msg, 'transport: got 5, must be a mapping with keys maxMessageBytes,');
  t.match(msg, 'domains: got "localhost", must be a non-empty list');
  t.match(msg, "users[0].username: got 100, must be a string of letters, digits and . _ + - (quote numeric names: '100')");
});

t.test('auth algorithms: unknown and duplicate', async (t) => {
  const msg = configErrorOf(t, 'auth: { algorithms: [SHA-1, MD5, MD5] }\n');
  t.match(msg, 'auth.algorithms[0]: got "SHA-1", must be one of SHA-256, MD5');
  t.match(msg, 'auth.algorithms: got ["SHA-1","MD5","MD5"], must be a non-empty list without duplicates');
  t.match(configErrorOf(t, 'auth: { algorithms: [] }\n'), 'auth.algorithms: got [], must be a non-empty list');
});

t.test('duplicate usernames, route prefixes and listeners', async (t) => {
  const msg = configErrorOf(
    t,
    [
      'users:',
      '  - { username: alice, password: a }',
      '  - { username: bob, password: b }',
      '  - { username: alice, password: c }',
      'routes:',
      "  - { prefix: '9', destination: 'sip:a' }",
      "  - { prefix: '9', destination: 'sip:b' }",
      'listen:',
      '  - { transport: udp, address: 127.0.0.1, port: 5060 }',
      '  - { transport: udp, address: 127.0.0.1, port: 5060 }',
      '',
    ].join('\n'),
  );
  t.match(msg, 'users[2].username: got "alice", must be a unique username (same as users[0].username)');
  t.match(msg, 'routes[1].prefix: got "9", must be a unique route prefix (same as routes[0].prefix)');
  t.match(msg, 'listen[1]: got {"transport":"udp","address":"127.0.0.1","port":5060}, must be a unique transport+address+port (same as listen[0])');
});

t.test('registrar expires order, checked against defaults too', async (t) => {
  t.match(configErrorOf(t, 'registrar: { minExpires: 100, defaultExpires: 50 }\n'), 'registrar.defaultExpires: got 50, must be >= registrar.minExpires (100)');
  t.match(configErrorOf(t, 'registrar: { defaultExpires: 9000 }\n'), 'registrar.defaultExpires: got 9000, must be <= registrar.maxExpires (7200)');
  t.match(configErrorOf(t, 'registrar: { minExpires: 8000, maxExpires: 7000, defaultExpires: 7500 }\n'), 'registrar.minExpires: got 8000, must be <= registrar.maxExpires (7000)');
});

t.test('YAML syntax error names file, line and column', async (t) => {
  const msg = configErrorOf(t, 'log:\n  level: info\nlisten: [ { transport: udp\n');
  t.match(msg, /test\.yaml:\d+:\d+: YAML syntax error: /);
  const dup = configErrorOf(t, 'locale: en\nlocale: zh\n');
  t.match(dup, 'test.yaml:2:1: YAML syntax error: Map keys must be unique');
});

t.test('a syntax error in a file names that file', async (t) => {
  const dir = t.testdir({ 'bad.yaml': 'workers: 2\n  broken: [\n' });
  const path = join(dir, 'bad.yaml');
  t.throws(() => loadConfigFile(path), { code: 'SIP_ERR_CONFIG', message: new RegExp(`${path.replace(/[.\\/]/g, '\\$&')}:\\d+:\\d+: YAML syntax error`) });
});

t.test('an unreadable file is SIP_ERR_CONFIG_FILE', async (t) => {
  const dir = t.testdir({});
  t.throws(() => loadConfigFile(join(dir, 'missing.yaml')), { code: 'SIP_ERR_CONFIG_FILE', message: /missing\.yaml/ });
});

t.test('several errors are reported together, one per line', async (t) => {
  const msg = configErrorOf(
    t,
    'lisen: []\nworkers: -1\nlisten: [{ transport: udp, address: 1.2.3, port: -1 }]\nusers: [{ username: "a b", password: "" }]\nroutes: [{ prefix: x, destination: "http://gw" }]\n',
  );
  const lines = msg.split('\n');
  t.match(lines[0], /^invalid config test\.yaml: 8 problems$/);
  t.equal(lines.length, 9, msg);
  for (const path of ['workers', 'listen[0].address', 'listen[0].port', 'users[0].username', 'users[0].password', 'routes[0].prefix', 'routes[0].destination', 'lisen']) {
    t.ok(lines.some((l) => l.trimStart().startsWith(`${path}: `)), `line for ${path}`);
  }
  t.match(msg, 'listen[0].address: got "1.2.3", must be an IPv4 or IPv6 address');
});

t.test('secrets nested in a reported value are masked', async (t) => {
  const msg = configErrorOf(t, 'users: { username: a, password: hunter2 }\n');
  t.notMatch(msg, 'hunter2');
  t.match(msg, '"password":"***"');
});

t.test('non-mapping root and non-plain data', async (t) => {
  t.match(configErrorOf(t, '- 1\n'), '(root): got [1], must be a mapping with keys locale,');
  t.throws(() => validateConfig({ locale: () => 'en' }, 'object'), { code: 'SIP_ERR_CONFIG', message: /\(root\): not plain data/ });
});
