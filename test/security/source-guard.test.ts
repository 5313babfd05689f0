// The per-source guard with a hand-moved clock: sliding-window rate, ban and its expiry, exempt
// addresses, auth-failure back-off, the header-line limit, and bounded memory.
import t from 'tap';
import { SourceGuard, type SourceGuardOptions } from '../../lib/security/source-guard.js';

function guard(over: Partial<SourceGuardOptions> = {}): { g: SourceGuard; clock: { ms: number }; bans: string[] } {
  const clock = { ms: 1_000_000 };
  const bans: string[] = [];
  const g = new SourceGuard({
    windowMs: 1000, maxPerWindow: 10, banMs: 5000, maxAuthFailures: 3, authWindowMs: 60_000, authBanMs: 30_000, maxHeaders: 5,
    exempt: ['10.0.0.9'], now: () => clock.ms, onBan: (a, why) => bans.push(`${a}:${why}`), ...over,
  });
  return { g, clock, bans };
}

t.test('over the rate: banned, dropped, then let in again after the ban', async (t) => {
  const { g, clock, bans } = guard();
  for (let i = 0; i < 10; i++) t.ok(g.admit('10.0.0.1'), `message ${i + 1} admitted`);
  t.notOk(g.admit('10.0.0.1'), 'the 11th within the window is refused');
  t.same(bans, ['10.0.0.1:rate']);
  t.ok(g.admit('10.0.0.2'), 'another source is not affected');
  clock.ms += 4000;
  t.notOk(g.admit('10.0.0.1'), 'still banned');
  clock.ms += 1001;
  t.ok(g.admit('10.0.0.1'), 'ban over');
  t.equal(g.stats.bans, 1);
  t.equal(g.stats.rateLimited, 2);
});

t.test('sliding window: a steady rate under the limit is never banned, spread over windows', async (t) => {
  const { g, clock } = guard();
  for (let i = 0; i < 100; i++) { t.ok(g.admit('10.0.0.1')) || t.bailout(); clock.ms += 120; } // ~8.3/s
  t.equal(g.stats.bans, 0);
  // a burst straddling a window boundary still counts: 8 at the end of one window, 8 at the start of the next
  const h = guard();
  h.clock.ms += 900;
  for (let i = 0; i < 8; i++) h.g.admit('10.0.0.1');
  h.clock.ms += 150;
  let refused = 0;
  for (let i = 0; i < 8; i++) if (!h.g.admit('10.0.0.1')) refused++;
  t.ok(refused > 0, 'the previous window weighs in');
});

t.test('exempt addresses and IPv4-mapped spellings', async (t) => {
  const { g } = guard();
  for (let i = 0; i < 100; i++) t.ok(g.admit('10.0.0.9')) || t.bailout();
  for (let i = 0; i < 11; i++) g.admit('::ffff:10.0.0.1');
  t.ok(g.isBanned('10.0.0.1'), 'the mapped form counts as the same source');
});

t.test('a reload reconfigures: new exemptions and limits apply from the next message', async (t) => {
  const { g } = guard();
  for (let i = 0; i < 11; i++) g.admit('10.0.0.1');
  t.ok(g.isBanned('10.0.0.1'), 'banned under the first config');
  const opts = { windowMs: 1000, maxPerWindow: 10, banMs: 5000, maxAuthFailures: 3, authWindowMs: 60_000, authBanMs: 30_000, maxHeaders: 5 };
  g.configure({ ...opts, exempt: ['10.0.0.1'] });
  t.ok(g.admit('10.0.0.1'), 'exempt now: admitted despite its ban');
  for (let i = 0; i < 20; i++) g.admit('10.0.0.9');
  t.ok(g.isBanned('10.0.0.9'), 'no longer exempt: limited like any source');
  g.configure({ ...opts, maxPerWindow: 0, exempt: [] });
  for (let i = 0; i < 50; i++) t.ok(g.admit('10.0.0.3')) || t.bailout();
  t.equal(g.stats.bans, 2, 'maxPerWindow 0: the limit is off for new sources');
});

t.test('auth failures: back-off after maxAuthFailures within the window', async (t) => {
  const { g, clock, bans } = guard();
  for (let i = 0; i < 3; i++) g.authFailed('10.0.0.5');
  t.ok(g.admit('10.0.0.5'), 'three failures allowed');
  g.authFailed('10.0.0.5');
  t.same(bans, ['10.0.0.5:auth']);
  t.notOk(g.admit('10.0.0.5'));
  clock.ms += 30_001;
  t.ok(g.admit('10.0.0.5'), 'the back-off ends');
  for (let i = 0; i < 3; i++) { g.authFailed('10.0.0.6'); clock.ms += 61_000; }
  g.authFailed('10.0.0.6');
  t.equal(g.stats.authBans, 1, 'failures spread beyond the window are not summed');
  g.authFailed('10.0.0.9');
  t.notOk(g.isBanned('10.0.0.9'));
});

t.test('header-line limit', async (t) => {
  const { g } = guard();
  const msg = (n: number): Buffer => Buffer.from(`OPTIONS sip:a SIP/2.0\r\n${'X: y\r\n'.repeat(n)}\r\nbody\r\nmore\r\n`);
  t.notOk(g.tooManyHeaders(msg(5)), '5 headers pass');
  t.ok(g.tooManyHeaders(msg(6)), '6 do not');
  t.notOk(g.tooManyHeaders(Buffer.from('OPTIONS sip:a SIP/2.0\nA: 1\nB: 2\n\n')), 'bare LF line ends');
  t.notOk(guard({ maxHeaders: 0 }).g.tooManyHeaders(msg(1000)), '0: no limit');
  t.equal(g.stats.tooManyHeaders, 1);
});

t.test('rate limit off: nothing tracked', async (t) => {
  const { g } = guard({ maxPerWindow: 0 });
  for (let i = 0; i < 1000; i++) t.ok(g.admit('10.0.0.1')) || t.bailout();
});
