import t from 'tap';
import type { Binding, BindingUpdate, ContactSource } from '../../lib/registrar/binding.js';
import { BindingFanout, MARGIN_MS } from '../../lib/registrar/binding-fanout.js';
import { LocationStore } from '../../lib/registrar/location-store.js';
import { Registrar } from '../../lib/registrar/registrar.js';
import { parseMessage } from '../../lib/sip/parser.js';

const T0 = Date.UTC(2024, 0, 2, 3, 4, 5);
const AOR = 'sip:alice@example.com';
const SOURCE: ContactSource = { transport: 'udp', address: '198.51.100.7', port: 5060, connId: 0 };

function binding(contact: string, expiresAt: number, extra: Partial<Binding> = {}): Binding {
  return { contact, expiresAt, q: 1, callId: `c-${expiresAt}`, cseq: 1, source: SOURCE, updatedAt: expiresAt - 3_600_000, ...extra };
}
const update = (...bindings: Binding[]): BindingUpdate => ({ aor: AOR, bindings });

t.test('a refresh that only extends the expiry is held back; the main thread still gets it', async (t) => {
  const f = new BindingFanout();
  const first = f.accept(update(binding('sip:a@h', T0 + 3_600_000)), T0);
  t.same([first.send, first.toSender], [true, false], 'a new binding goes out at once');
  const refresh = update(binding('sip:a@h', T0 + 3_610_000, { callId: 'other', cseq: 9 }));
  const d = f.accept(refresh, T0 + 10_000);
  t.equal(d.send, false);
  t.equal(d.update, refresh, 'applied and persisted as given');
  t.equal(f.spared, 1);
  t.same(f.due(T0 + 20_000), [], 'not due long before the held copy expires');
});

t.test('removals, shorter lives and other routes go out at once', async (t) => {
  const cases: Array<[string, BindingUpdate]> = [
    ['all removed', update()],
    ['one of two removed', update(binding('sip:a@h', T0 + 3_700_000))],
    ['expiry shortened', update(binding('sip:a@h', T0 + 60_000), binding('sip:b@h', T0 + 3_700_000))],
    ['contact added', update(binding('sip:a@h', T0 + 3_700_000), binding('sip:b@h', T0 + 3_700_000), binding('sip:c@h', T0 + 3_700_000))],
    ['source port changed', update(binding('sip:a@h', T0 + 3_700_000, { source: { ...SOURCE, port: 5062 } }), binding('sip:b@h', T0 + 3_700_000))],
    ['q changed', update(binding('sip:a@h', T0 + 3_700_000, { q: 0.5 }), binding('sip:b@h', T0 + 3_700_000))],
    ['path changed', update(binding('sip:a@h', T0 + 3_700_000, { path: ['<sip:edge;lr>'] }), binding('sip:b@h', T0 + 3_700_000))],
  ];
  for (const [what, u] of cases) {
    const f = new BindingFanout();
    f.accept(update(binding('sip:a@h', T0 + 3_600_000), binding('sip:b@h', T0 + 3_600_000)), T0);
    // a refresh held back first: the change must still go out, and the held-back refresh never after it
    t.equal(f.accept(update(binding('sip:a@h', T0 + 3_650_000), binding('sip:b@h', T0 + 3_650_000)), T0 + 50_000).send, false, what);
    t.equal(f.accept(u, T0 + 60_000).send, true, what);
    t.same(f.due(T0 + 3_600_000), [], `${what}: nothing stale sent later`);
  }
});

t.test('the latest refresh goes out MARGIN_MS before the copy the shards hold expires', async (t) => {
  const f = new BindingFanout();
  f.due(T0);
  f.accept(update(binding('sip:a@h', T0 + 600_000)), T0);
  f.accept(update(binding('sip:a@h', T0 + 700_000)), T0 + 100_000);
  const latest = update(binding('sip:a@h', T0 + 800_000));
  f.accept(latest, T0 + 200_000);
  t.same(f.due(T0 + 600_000 - MARGIN_MS - 1000), []);
  t.same(f.due(T0 + 600_000 - MARGIN_MS), [latest]);
  t.same(f.due(T0 + 600_000), [], 'once');
  // the shards now hold `latest`: the next refresh is compared with it
  t.equal(f.accept(update(binding('sip:a@h', T0 + 900_000)), T0 + 610_000).send, false);
  t.same(f.due(T0 + 800_000 - MARGIN_MS - 1000), []);
  t.equal(f.due(T0 + 800_000 - MARGIN_MS).length, 1);
});

t.test('a held copy that is about to expire is never refreshed by holding back again', async (t) => {
  const f = new BindingFanout();
  f.accept(update(binding('sip:a@h', T0 + 40_000)), T0);
  t.equal(f.accept(update(binding('sip:a@h', T0 + 100_000)), T0 + 10_001).send, true, 'less than MARGIN_MS left: sent');
});

t.test('a set built on an older copy gets the main thread\'s later refresh back, and goes to every shard', async (t) => {
  const f = new BindingFanout();
  f.accept(update(binding('sip:a@h', T0 + 3_600_000, { updatedAt: T0 })), T0);
  const refreshed = binding('sip:a@h', T0 + 3_700_000, { updatedAt: T0 + 100_000 });
  f.accept(update(refreshed), T0 + 100_000);
  // another shard, still holding the first copy of a, adds b
  const b = binding('sip:b@h', T0 + 3_800_000, { updatedAt: T0 + 200_000 });
  const d = f.accept(update(binding('sip:a@h', T0 + 3_600_000, { updatedAt: T0 }), b), T0 + 200_000);
  t.same(d.update.bindings, [refreshed, b]);
  t.same([d.send, d.toSender], [true, true]);
});

// Shards as the proxy runs them: each with its own registrar over its own replica, REGISTERs with a
// new Call-ID each (so any shard), the main thread's replica, and the fanout between them.
t.test('simulation: every shard routes to exactly the live bindings, with the expiry each UA was given', async (t) => {
  let seed = 12345;
  const rand = (n: number): number => { seed = (seed * 1103515245 + 12345) & 0x7fffffff; return seed % n; };
  const clock = { ms: T0 };
  const shards = [0, 1, 2].map(() => {
    const store = new LocationStore();
    return {
      store,
      registrar: new Registrar({
        domains: ['example.com'], auth: undefined, users: new Map([['alice', { password: 'x' }]]), minExpires: 30, maxExpires: 7200,
        defaultExpires: 3600, maxContacts: 5, store, now: () => clock.ms, toTag: () => 'tag',
      }),
    };
  });
  const main = new LocationStore();
  const fanout = new BindingFanout();
  const granted = new Map<string, number>(); // contact -> expiry the UA was told
  const devices = ['sip:alice@10.0.0.1:5060', 'sip:alice@10.0.0.2:5060', 'sip:alice@10.0.0.3:5060'];
  const nextAt = devices.map((_, i) => T0 + i * 7000);
  let calls = 0;
  let mismatches = 0;
  let sent = 0;
  for (let second = 0; second < 20_000; second++) {
    clock.ms = T0 + second * 1000;
    for (const u of fanout.due(clock.ms)) { sent++; for (const s of shards) s.store.replace(u); }
    for (const [i, contact] of devices.entries()) {
      // each user agent refreshes at 30-90% of the time it was given, and now and then removes
      // its binding and comes back a while later
      if (nextAt[i]! > clock.ms) continue;
      const expires = rand(25) === 0 ? 0 : 60 + rand(600);
      nextAt[i] = clock.ms + (expires === 0 ? 1000 * (1 + rand(300)) : expires * (3 + rand(7)) * 100);
      const from = rand(shards.length);
      const text = ['REGISTER sip:example.com SIP/2.0', 'Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK1', 'Max-Forwards: 70',
        'To: <sip:alice@example.com>', 'From: <sip:alice@example.com>;tag=1', `Call-ID: sim-${++calls}`, 'CSeq: 1 REGISTER',
        `Contact: <${contact}>;expires=${expires}`, 'Content-Length: 0', '', ''].join('\r\n');
      const r = shards[from]!.registrar.handle(parseMessage(Buffer.from(text, 'latin1')).message, SOURCE);
      if (r.response.status !== 200) throw new Error(`REGISTER answered ${r.response.status}`);
      if (expires === 0) granted.delete(contact);
      else granted.set(contact, clock.ms + expires * 1000);
      const d = fanout.accept(r.update!, clock.ms);
      main.replace(d.update);
      if (d.send) {
        sent++;
        shards.forEach((s, j) => { if (j !== from || d.toSender) s.store.replace(d.update); });
      }
    }
    const live = [...granted].filter(([, at]) => at > clock.ms).sort().map(([c, at]) => `${c} ${at}`).join();
    const onMain = main.lookup(AOR, clock.ms).map((b) => `${b.contact} ${b.expiresAt}`).sort().join();
    if (onMain !== live) mismatches++;
    for (const s of shards) {
      const routed = s.store.lookup(AOR, clock.ms).map((b) => b.contact).sort().join();
      if (routed !== main.lookup(AOR, clock.ms).map((b) => b.contact).sort().join()) mismatches++;
    }
  }
  t.equal(mismatches, 0, 'no second where a shard or the main thread differed from what the user agents were told');
  t.ok(fanout.spared > 0, `some refreshes held back (${fanout.spared} of ${calls}; ${sent} sent)`);
});
