// The admin JSON API: bearer-token auth (health and the page shell excepted), stable error codes,
// registrations, config get/validate/reload (live, refused when invalid or restart-only).
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { stringify } from 'yaml';
import { startTestProxy, testConfig } from '../helpers/proxy-harness.js';
import { startTestAdmin } from '../helpers/admin-client.js';
import { sipRequest, udpPeer } from '../helpers/udp-peer.js';

t.setTimeout(60_000);

t.test('admin API', async (t) => {
  const base = testConfig();
  const proxy = await startTestProxy({ auth: { ...base.auth, register: false } });
  t.teardown(() => proxy.close());
  const { admin, call } = await startTestAdmin(proxy);
  t.teardown(() => admin.close());
  t.match(admin.url, /^http:\/\/127\.0\.0\.1:\d+$/, 'plain HTTP on loopback by default');
  t.ok(admin.token().length >= 32, 'a token was generated since none is configured');

  await t.test('auth: 401 without or with a wrong token, health and the page are open', async (t) => {
    for (const path of ['/api/stats', '/api/dialogs', '/api/config', '/metrics', '/api/config/reload']) {
      const r = await call(path, { token: '' });
      t.equal(r.status, 401, `${path} without token`);
      t.equal(r.body.error?.code, 'ADMIN_ERR_UNAUTHORIZED');
      t.match(r.headers.get('www-authenticate'), /^Bearer /);
    }
    const wrong = await call('/api/stats', { token: `${admin.token()}x` });
    t.equal(wrong.status, 401, 'wrong token');
    const health = await call('/api/health', { token: '' });
    t.equal(health.status, 200);
    t.equal(health.body.status, 'ok');
    t.equal(health.body.workers, 2);
    const page = await call('/', { token: '' });
    t.equal(page.status, 200);
    t.match(page.headers.get('content-type'), /text\/html/);
    t.match(page.headers.get('content-security-policy'), /default-src 'self'/);
  });

  await t.test('errors are JSON with stable codes', async (t) => {
    const nf = await call('/api/nope');
    t.same([nf.status, nf.body.error.code], [404, 'ADMIN_ERR_NOT_FOUND']);
    const m = await call('/api/stats', { method: 'POST' });
    t.same([m.status, m.body.error.code, m.headers.get('allow')], [405, 'ADMIN_ERR_METHOD_NOT_ALLOWED', 'GET']);
    const bad = await call('/api/dialogs?limit=0');
    t.same([bad.status, bad.body.error.code], [400, 'ADMIN_ERR_BAD_REQUEST']);
    t.match(bad.body.error.message, 'limit: got "0", must be an integer 1..1000');
  });

  await t.test('stats and workers', async (t) => {
    const s = await call('/api/stats');
    t.equal(s.status, 200);
    // the two workers and, with the default shard.placement: load, the main thread's shard beside them
    t.same(s.body.shards.map((x: { shardId: number; thread: string }) => [x.shardId, x.thread]), [[0, 'worker'], [1, 'worker'], [64, 'main']]);
    t.same(Object.keys(s.body.total).sort(), ['callSetup', 'callsPerSecond', 'counters', 'dialogs', 'inFlight', 'overload503', 'overloadDropped', 'pinned', 'shards', 'timers', 'transactions'].sort());
    t.type(s.body.shards[0].callsPerSecond, 'number');
    t.type(s.body.shards[0].overload503, 'number');
    t.type(s.body.transport.tlsHandshakeFailures, 'number');
    const w = await call('/api/workers');
    t.same([w.body.count, w.body.shards.length, w.body.maxInFlight], [2, 2, proxy.config.shard.maxInFlight]);
    t.same([w.body.placement, w.body.mainShard?.shardId, typeof w.body.mainShard?.inFlight], ['load', 64, 'number'], "the main thread's shard is listed apart");
    const tls = await call('/api/tls');
    t.same(tls.body, { selfSigned: false, fingerprint: null, minVersion: 'TLSv1.2' }, 'no TLS listener here: no certificate');
  });

  await t.test('registrations come from the location service', async (t) => {
    const phone = await udpPeer();
    t.teardown(() => phone.close());
    phone.send(sipRequest('REGISTER', 'sip:127.0.0.1', phone.port, { callId: 'reg-admin-1', from: '<sip:100@127.0.0.1>', to: '<sip:100@127.0.0.1>', extra: ['Expires: 600', 'User-Agent: admin-test'] }), proxy.udpPort);
    await phone.next(/^SIP\/2\.0 200 /);
    let r = await call('/api/registrations');
    for (let i = 0; i < 20 && r.body.total === 0; i++) { await new Promise((res) => setTimeout(res, 50)); r = await call('/api/registrations'); }
    t.equal(r.body.total, 1);
    t.match(r.body.items[0], { aor: 'sip:100@127.0.0.1', contact: `sip:peer@127.0.0.1:${phone.port}`, source: `udp:127.0.0.1:${phone.port}`, userAgent: 'admin-test' });
    t.ok(r.body.items[0].expiresInSeconds > 590);
    // the 200 waits out Timer J in the shard's store of Completed transactions, counted in /metrics
    const metrics = (await call('/metrics')).text;
    t.match(metrics, /^sipshard_completed_transactions 1$/m);
    t.match(metrics, /^sipshard_completed_store_bytes 1048576$/m, 'one 1 MiB chunk');
    t.match(metrics, /^sipshard_transactions [1-9]/m, 'and counted among the open transactions');
    // the binding went to the location journal before its 200 (one record, one write)
    t.match(metrics, /^sipshard_journal_records_total 1$/m);
    t.match(metrics, /^sipshard_journal_writes_total 1$/m);
    t.match(metrics, /^sipshard_journal_errors_total 0$/m);
    t.match(metrics, /^sipshard_journal_log_bytes [1-9]/m);
  });

  await t.test('config get masks secrets', async (t) => {
    const c = await call('/api/config');
    t.equal(c.status, 200);
    t.equal(c.body.users[0].password, '***');
    t.equal(c.body.users[0].username, '100');
    t.equal(c.body.admin.token, '', 'an empty token stays visible as empty');
  });

  await t.test('validate: problems listed, the running config untouched', async (t) => {
    const v = await call('/api/config/validate', { method: 'POST', body: 'listen:\n  - { transport: udp, port: 70000 }\nlisen: []\n' });
    t.equal(v.status, 422);
    t.equal(v.body.error.code, 'ADMIN_ERR_CONFIG_INVALID');
    t.match(v.body.error.problems, ['listen[0].port: got 70000, must be an integer 0..65535', /lisen: unknown key/]);
    const ok = await call('/api/config/validate', { method: 'POST', body: stringify({ ...JSON.parse(JSON.stringify(proxy.config)), workers: 3, tls: { ...proxy.config.tls, minVersion: 'TLSv1.3' } }) });
    t.equal(ok.status, 200);
    t.same(ok.body.restartRequired, ['tls'], 'workers changes live (resharding); tls needs a restart');
  });

  await t.test('reload: a new route and user work at once; restart-only changes are refused', async (t) => {
    const callee = await udpPeer();
    const caller = await udpPeer();
    t.teardown(() => Promise.all([callee.close(), caller.close()]));
    const invite = (id: string): string => sipRequest('INVITE', 'sip:8123@127.0.0.1', caller.port, { callId: id });
    caller.send(invite('reload-before'), proxy.udpPort);
    t.match(await caller.next(/^SIP\/2\.0 [2-6]\d\d /), /^SIP\/2\.0 404 /, 'before: no route for 8');

    const running = JSON.parse(JSON.stringify(proxy.config));
    const next = { ...running, routes: [...running.routes, { prefix: '8', destination: `sip:127.0.0.1:${callee.port}`, strip: 0, prepend: '' }], users: [...running.users, { username: '200', password: 'pw200pw200', displayName: '' }] };
    const refused = await call('/api/config/reload', { method: 'POST', body: stringify({ ...next, listen: [{ transport: 'udp', address: '127.0.0.1', port: 5999 }] }) });
    t.equal(refused.status, 409);
    t.equal(refused.body.error.code, 'ADMIN_ERR_RELOAD_REFUSED');
    t.match(refused.body.error.problems, [/^listen: changed, but it is read only at start/]);
    t.equal(proxy.config.routes.length, running.routes.length, 'nothing applied');

    const r = await call('/api/config/reload', { method: 'POST', body: stringify(next), headers: { 'content-type': 'application/yaml' } });
    t.equal(r.status, 200, JSON.stringify(r.body));
    t.same(r.body, { reloaded: true, source: 'request body' });
    t.equal(proxy.config.users.length, running.users.length + 1);
    // the Call-ID decides the shard: several calls reach both shards
    for (let i = 0; i < 6; i++) caller.send(invite(`reload-after-${i}`), proxy.udpPort);
    for (let i = 0; i < 6; i++) t.match(await callee.next(/^INVITE sip:8123@127\.0\.0\.1:\d+ /), new RegExp(`Call-ID: reload-after-`), `after: call ${i} routed by the new route`);
  });

  await t.test('reload from the config file (what SIGHUP does); a broken file is refused', async (t) => {
    const file = join(testConfig().tls.selfSignedDir, '..', 'proxy.yaml');
    const running = JSON.parse(JSON.stringify(proxy.config));
    const withFile = await startTestAdmin(proxy, file);
    t.teardown(() => withFile.admin.close());
    writeFileSync(file, stringify({ ...running, proxy: { ...running.proxy, timerCSeconds: 90 } }));
    const ok = await withFile.call('/api/config/reload', { method: 'POST' });
    t.equal(ok.status, 200, JSON.stringify(ok.body));
    t.equal(proxy.config.proxy.timerCSeconds, 90);
    writeFileSync(file, 'proxy: { timerCSeconds: -1 }\n');
    const bad = await withFile.call('/api/config/reload', { method: 'POST' });
    t.equal(bad.status, 422);
    t.match(bad.body.error.problems, ['proxy.timerCSeconds: got -1, must be an integer 1..3600']);
    t.equal(proxy.config.proxy.timerCSeconds, 90, 'the running config stays');
  });
});
