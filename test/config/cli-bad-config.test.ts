// A bad config stops the process before anything is bound, naming the path, the value and what is
// allowed, with a non-zero exit code.
import t from 'tap';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../lib/config/load-config.js';

const cli = join(packageRoot(), 'dist', 'lib', 'cli.js');

t.test('invalid config: exit 2, one line per problem, port left unbound', async (t) => {
  const dir = t.testdir({});
  const probe = createSocket('udp4');
  await new Promise<void>((r) => probe.bind(0, '127.0.0.1', r));
  const port = probe.address().port;
  probe.close();
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, `listen:\n  - { transport: udp, address: 127.0.0.1, port: ${port} }\n  - { transport: sctp, address: 127.0.0.1, port: 5060 }\nworkers: -1\n`);
  const r = spawnSync(process.execPath, [cli, '--config', file], { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 2);
  t.match(r.stderr, /bad\.yaml/);
  t.match(r.stderr, /listen\[1\]\.transport: got "sctp", must be one of udp, tcp, tls/);
  t.match(r.stderr, /workers: got -1, must be 'auto' or an integer 0\.\.64/);
  // nothing was bound: the port is still free
  const again = createSocket('udp4');
  await new Promise<void>((resolve, reject) => { again.once('error', reject); again.bind(port, '127.0.0.1', resolve); });
  again.close();
});

t.test('a missing config file is named in the error', async (t) => {
  const r = spawnSync(process.execPath, [cli, '--config', '/nonexistent/proxy.yaml'], { encoding: 'utf8', timeout: 20_000 });
  t.equal(r.status, 2);
  t.match(r.stderr, /\/nonexistent\/proxy\.yaml/);
});

t.test('the command line: --help prints the usage, a wrong option or a stray argument exits 2 without a stack trace', async (t) => {
  const run = (...args: string[]): SpawnSyncReturns<string> => spawnSync(process.execPath, [cli, ...args], { encoding: 'utf8', timeout: 20_000 });
  for (const flag of ['--help', '-h']) {
    const help = run(flag);
    t.equal(help.status, 0, flag);
    t.match(help.stdout, /^usage: node \[node options\] dist\/lib\/cli\.js \[--config FILE\]/);
    t.match(help.stdout, /default\.yaml/, 'names the default config');
    t.equal(help.stderr, '', 'nothing on stderr: it did not start');
  }
  for (const [args, why] of [[['--bogus'], /^Unknown option '--bogus'/], [['--config'], /argument missing/], [['proxy.yaml'], /Unexpected argument 'proxy\.yaml'/]] as const) {
    const r = run(...args);
    t.equal(r.status, 2, args.join(' '));
    t.match(r.stderr, why);
    t.match(r.stderr, /\nusage: /, 'the usage follows');
    t.notMatch(r.stderr, /\n\s+at /, 'no stack trace');
  }
});
