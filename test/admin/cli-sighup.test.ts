// The CLI starts the admin API next to the proxy, and SIGHUP re-reads the config file: a valid
// change is applied live, a broken file is refused with the reason and the running config stays.
import { spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { packageRoot } from '../../lib/config/load-config.js';

const cli = join(packageRoot(), 'dist', 'lib', 'cli.js');

t.setTimeout(60_000);

t.test('SIGHUP reloads the config file; the admin API shows it', async (t) => {
  const dir = t.testdir({});
  const file = join(dir, 'proxy.yaml');
  const config = (timerCSeconds: number) => ({
    workers: 2,
    log: { level: 'info' },
    listen: [{ transport: 'udp', address: '127.0.0.1', port: 0 }],
    registrar: { storePath: '' },
    proxy: { timerCSeconds },
    admin: { port: 0, tokenFile: join(dir, 'admin.token') },
  });
  writeFileSync(file, stringify(config(181)));
  const child = spawn(process.execPath, [cli, '--config', file], { stdio: ['ignore', 'pipe', 'pipe'] });
  t.teardown(() => { child.kill('SIGTERM'); });
  let out = '';
  const logged = (re: RegExp, timeoutMs = 15_000): Promise<string> => new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no log line matching ${re}; got:\n${out.slice(-2000)}`)), timeoutMs);
    const check = (): void => {
      const line = out.split('\n').find((l) => re.test(l));
      if (line !== undefined) { clearTimeout(timer); child.stdout.off('data', check); resolve(line); }
    };
    child.stdout.on('data', check);
    check();
  });
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  const url = JSON.parse(await logged(/admin API listening/)).url as string;
  const token = readFileSync(join(dir, 'admin.token'), 'utf8').trim();
  const get = async (path: string, auth = true) => {
    const res = await fetch(`${url}${path}`, { headers: auth ? { authorization: `Bearer ${token}` } : {} });
    return { status: res.status, body: await res.json() as any };
  };
  t.equal((await get('/api/stats', false)).status, 401, 'no token: 401');
  t.equal((await get('/api/config')).body.proxy.timerCSeconds, 181);

  writeFileSync(file, stringify(config(95)));
  child.kill('SIGHUP');
  await logged(/SIGHUP: config reloaded/);
  t.equal((await get('/api/config')).body.proxy.timerCSeconds, 95, 'the new value is live');

  writeFileSync(file, stringify({ ...config(95), listen: [{ transport: 'udp', address: '127.0.0.1', port: 1 }] }));
  child.kill('SIGHUP');
  const refused = JSON.parse(await logged(/SIGHUP: reload refused/));
  t.match(refused.reason, /reload refused: 1 setting needs a restart/);
  writeFileSync(file, 'proxy: { timerCSeconds: nope }\n');
  child.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 500));
  t.match(out, /proxy\.timerCSeconds: got \\"nope\\", must be an integer 1\.\.3600/, 'an invalid file is refused with the reason');
  t.equal((await get('/api/config')).body.proxy.timerCSeconds, 95, 'the running config stays');
  t.equal((await get('/api/health', false)).body.status, 'ok', 'still serving');
});
