// Long-held destinations are shared: one object per distinct (transport, address, port, connection,
// host name), found without a key string; an object it handed out comes back as itself.
import t from 'tap';
import { internTarget } from '../../lib/transport/intern-target.js';
import type { SendTarget } from '../../lib/transport/types.js';

t.test('one object per distinct target', async (t) => {
  const base: SendTarget = { transport: 'udp', address: '192.0.2.10', port: 5060 };
  const a = internTarget({ ...base });
  t.equal(internTarget({ ...base }), a, 'equal fields: the same object');
  t.equal(internTarget(a), a, 'an interned object comes back as itself');
  t.same(a, base);
  t.not(a, base, 'a copy: the caller may reuse its own object');
  const variants: SendTarget[] = [
    { ...base, port: 5061 },
    { ...base, transport: 'tcp' },
    { ...base, connId: 0 },
    { ...base, connId: 3 },
    { ...base, host: 'pbx.example.com' },
    { ...base, address: '192.0.2.11' },
    { ...base, transport: 'tls', connId: 3, host: 'pbx.example.com' },
  ];
  const seen = new Set<SendTarget>([a]);
  for (const v of variants) {
    const i = internTarget({ ...v });
    t.same(i, v, `${JSON.stringify(v)}: its fields`);
    t.notOk(seen.has(i), `${JSON.stringify(v)}: an object of its own`);
    seen.add(i);
    t.equal(internTarget({ ...v }), i, `${JSON.stringify(v)}: found again`);
  }
  t.notOk('connId' in a, 'no connId field when none was given (checkpoints and postMessage copy what is there)');
});

t.test('past its bound the cache starts over; what holders have stays valid', async (t) => {
  const first = internTarget({ transport: 'udp', address: '198.51.100.1', port: 1 });
  for (let p = 2; p <= 10_001; p++) internTarget({ transport: 'udp', address: '198.51.100.1', port: p });
  t.same(first, { transport: 'udp', address: '198.51.100.1', port: 1 });
  const again = internTarget({ transport: 'udp', address: '198.51.100.1', port: 1 });
  t.same(again, first);
  t.equal(internTarget(again), again);
});
