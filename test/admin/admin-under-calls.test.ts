// The admin API while sipp calls are up: dialogs paged across shards, calls/s, and /metrics in
// Prometheus text that promtool accepts, with the call setup histogram counting every answer.
import { spawn, spawnSync } from 'node:child_process';
import t from 'tap';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { startTestAdmin } from '../helpers/admin-client.js';
import { freeUdpPort, loopbackArgs, requireSipp, sippReport, startSipp, summary } from '../helpers/sipp.js';

const CALLS = 7;

t.setTimeout(90_000);

function promtool(text: string): Promise<{ code: number | null; output: string }> {
  const child = spawn('promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (d: Buffer) => (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => (output += d.toString()));
  child.stdin.end(text);
  return new Promise((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, output }));
  });
}

const promtoolMissing = spawnSync('promtool', ['--version'], { encoding: 'utf8' }).error !== undefined;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

if (requireSipp(t)) {
  t.test('dialogs, calls/s and metrics during a sipp load', async (t) => {
    const uasPort = await freeUdpPort();
    const proxy = await startTestProxy({ routes: [{ prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' }] });
    t.teardown(() => proxy.close());
    const { admin, call } = await startTestAdmin(proxy);
    t.teardown(() => admin.close());
    const uas = await startSipp(['-sn', 'uas', ...await loopbackArgs(uasPort)], { timeoutMs: 60_000 });
    t.teardown(() => uas.stop());
    // calls held 6 s: the dialogs stay confirmed while we look at them
    const uac = await startSipp([
      '-sn', 'uac', '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', '10', '-d', '6000', '-timeout', '40s', '-timeout_error',
    ], { timeoutMs: 40_000 });
    t.teardown(() => uac.stop());

    let stats = await call('/api/stats');
    for (let i = 0; i < 60 && stats.body.total.dialogs.confirmed < CALLS; i++) { await sleep(100); stats = await call('/api/stats'); }
    t.equal(stats.body.total.dialogs.confirmed, CALLS, 'every call is up');
    t.equal(stats.body.shards.reduce((n: number, s: { dialogs: { confirmed: number } }) => n + s.dialogs.confirmed, 0), CALLS, 'per-shard dialogs add up');
    await sleep(1500); // one more rate sample
    stats = await call('/api/stats');
    t.ok(stats.body.total.callsPerSecond > 0, `calls/s measured (${stats.body.total.callsPerSecond})`);
    t.equal(stats.body.total.counters.callsAnswered, CALLS);
    t.equal(stats.body.total.callSetup.count, CALLS, 'a setup time per answered call');

    const ids = new Set<string>();
    const pages: number[] = [];
    for (let offset = 0; offset < CALLS + 3; offset += 3) {
      const p = await call(`/api/dialogs?offset=${offset}&limit=3`);
      t.equal(p.status, 200);
      t.equal(p.body.total, CALLS);
      pages.push(p.body.items.length);
      for (const d of p.body.items) {
        t.equal(d.state, 'confirmed');
        t.type(d.shardId, 'number');
        ids.add(`${d.callId}|${d.callerTag}`);
      }
    }
    t.same(pages, [3, 3, 1, 0], 'pages of 3 over 7 dialogs');
    t.equal(ids.size, CALLS, 'every dialog exactly once across the pages');

    const metrics = await call('/metrics');
    t.equal(metrics.status, 200);
    t.match(metrics.headers.get('content-type'), /^text\/plain; version=0\.0\.4/);
    t.match(metrics.text, new RegExp(`^sipshard_call_setup_seconds_count ${CALLS}$`, 'm'));
    t.match(metrics.text, /^sipshard_call_setup_seconds_bucket\{le="\+Inf"\} 7$/m);
    t.match(metrics.text, /^sipshard_dialogs\{shard="0",state="confirmed"\} \d+$/m);
    t.match(metrics.text, new RegExp(`^sipshard_calls_answered_total ${CALLS}$`, 'm'));
    t.match(metrics.text, /^sipshard_overload_rejected_total\{shard="1"\} 0$/m);
    // a confirmed call's INVITE, 180, 200 and ACK at least went to a shard, in some batches
    const batches = Number(/^sipshard_handover_batches_total (\d+)$/m.exec(metrics.text)?.[1]);
    const handed = Number(/^sipshard_handover_messages_total (\d+)$/m.exec(metrics.text)?.[1]);
    t.ok(handed >= CALLS * 4, `the calls' messages were handed to shards (${handed})`);
    t.ok(batches > 0, `in ${batches} batches`);
    t.match(metrics.text, /^sipshard_handover_holds_expired_total \d+$/m);
    if (promtoolMissing && process.env.CI !== 'true') {
      t.comment('promtool missing (Debian package prometheus): format not checked');
    } else {
      const check = await promtool(metrics.text);
      t.equal(check.code, 0, 'promtool check metrics passes', { output: check.output });
      t.equal(check.output.trim(), '', 'and has no lint remarks');
    }

    const done = await uac.done;
    t.equal(done.code, 0, 'every call ended well', { sipp: sippReport(done) });
    t.equal(summary(done).successful, CALLS);
  });
}
