// TLS versions on the SIP TLS listener and the admin HTTPS port, checked with the openssl CLI:
// TLS 1.3 is negotiated, TLS 1.2 is the default floor (configurable to 1.3), TLS 1.1 is refused.
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:https';
import t from 'tap';
import { startTestProxy, testConfig } from '../helpers/proxy-harness.js';
import { startTestAdmin } from '../helpers/admin-client.js';
import { testCertificate } from '../helpers/tls-bridge.js';

t.setTimeout(60_000);

/**
 * openssl s_client against 127.0.0.1:port with one protocol flag: the negotiated version or
 * undefined. Asynchronous: the server under test runs in this process.
 */
function handshake(port: number, flag: string): Promise<{ version: string | undefined; output: string }> {
  // SECLEVEL=0 lets the client offer TLS 1.1 at all, so the refusal we see is the server's
  const extra = flag === '-tls1_1' ? ['-cipher', 'DEFAULT:@SECLEVEL=0'] : [];
  const child = spawn('openssl', ['s_client', '-connect', `127.0.0.1:${port}`, flag, ...extra], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end();
  const timer = setTimeout(() => child.kill(), 10_000);
  return new Promise((resolve) => child.on('close', () => {
    clearTimeout(timer);
    const m = /New, (TLSv1\.\d), Cipher is (?!\(NONE\))/.exec(output);
    resolve({ version: m?.[1], output });
  }));
}

const opensslMissing = spawnSync('openssl', ['version'], { encoding: 'utf8' }).error !== undefined;

t.test('SIP TLS listener and admin HTTPS: 1.3 and 1.2 accepted, 1.1 refused', { skip: opensslMissing && process.env.CI !== 'true' ? 'openssl CLI missing' : false }, async (t) => {
  const cert = await testCertificate();
  const base = testConfig();
  const proxy = await startTestProxy({
    listen: [{ transport: 'tls', address: '127.0.0.1', port: 0 }],
    admin: { ...base.admin, certFile: cert.certFile, keyFile: cert.keyFile },
  });
  t.teardown(() => proxy.close());
  const client = await startTestAdmin(proxy);
  t.teardown(() => client.admin.close());
  t.ok(client.admin.https, 'admin serves HTTPS when a certificate is configured');

  for (const [name, port] of [['SIP TLS', proxy.tlsPort], ['admin HTTPS', client.admin.port]] as const) {
    const v13 = await handshake(port, '-tls1_3');
    t.equal(v13.version, 'TLSv1.3', `${name}: TLS 1.3 negotiated`, { output: v13.output.slice(-1500) });
    t.equal((await handshake(port, '-tls1_2')).version, 'TLSv1.2', `${name}: TLS 1.2 accepted (default floor)`);
    const v11 = await handshake(port, '-tls1_1');
    t.equal(v11.version, undefined, `${name}: TLS 1.1 refused`, { output: v11.output.slice(-1500) });
  }

  // the admin API over HTTPS, verified against the configured certificate
  const status = await new Promise<number>((resolve, reject) => {
    request({ host: '127.0.0.1', port: client.admin.port, path: '/api/stats', ca: cert.cert }, (res) => { res.resume(); resolve(res.statusCode ?? 0); })
      .on('error', reject).end();
  });
  t.equal(status, 401, 'HTTPS admin API without a token: 401');
});

t.test('minVersion TLSv1.3 refuses TLS 1.2', { skip: opensslMissing && process.env.CI !== 'true' ? 'openssl CLI missing' : false }, async (t) => {
  const base = testConfig();
  const proxy = await startTestProxy({ listen: [{ transport: 'tls', address: '127.0.0.1', port: 0 }], tls: { ...base.tls, minVersion: 'TLSv1.3' } });
  t.teardown(() => proxy.close());
  t.equal((await handshake(proxy.tlsPort, '-tls1_3')).version, 'TLSv1.3');
  t.equal((await handshake(proxy.tlsPort, '-tls1_2')).version, undefined, 'TLS 1.2 refused');
  t.ok(proxy.transports.stats().tlsHandshakeFailures >= 1, 'refused handshakes are counted');
});

t.test('the self-signed certificate is kept across restarts', async (t) => {
  const dir = testConfig().tls.selfSignedDir;
  const base = testConfig();
  const first = await startTestProxy({ listen: [{ transport: 'tls', address: '127.0.0.1', port: 0 }], tls: { ...base.tls, selfSignedDir: dir } });
  const fp = first.tls.fingerprint;
  await first.close();
  const second = await startTestProxy({ listen: [{ transport: 'tls', address: '127.0.0.1', port: 0 }], tls: { ...base.tls, selfSignedDir: dir } });
  t.teardown(() => second.close());
  t.equal(second.tls.fingerprint, fp, 'same certificate the second time');
  t.ok(second.tls.selfSigned);
});
