// CIDR parsing and matching of security.trustedNetworks (lib/security/trusted-networks.ts).
import t from 'tap';
import { NetworkList, parseNetwork } from '../../lib/security/trusted-networks.js';

t.test('IPv4 networks: prefix boundaries, /0, /32 and a bare address', async (t) => {
  const list = new NetworkList(['10.0.0.0/8', '192.168.1.128/25', '203.0.113.9']);
  for (const a of ['10.0.0.0', '10.255.255.255', '192.168.1.128', '192.168.1.255', '203.0.113.9']) t.ok(list.has(a), `${a} in`);
  for (const a of ['9.255.255.255', '11.0.0.0', '192.168.1.127', '203.0.113.8', '203.0.113.10']) t.notOk(list.has(a), `${a} out`);
  t.ok(new NetworkList(['0.0.0.0/0']).has('198.51.100.1'), '/0 holds every IPv4 address');
  t.notOk(new NetworkList(['0.0.0.0/0']).has('::1'), 'but no IPv6 one');
});

t.test('IPv6 networks: prefixes across word boundaries, :: forms, IPv4-mapped sources and networks', async (t) => {
  const list = new NetworkList(['2001:db8:abcd:12::/63', '::1/128', 'fd00::/8']);
  t.ok(list.has('2001:db8:abcd:12::1'));
  t.ok(list.has('2001:db8:abcd:13:ffff:ffff:ffff:ffff'), 'the /63 holds ...:13');
  t.notOk(list.has('2001:db8:abcd:14::'));
  t.ok(list.has('::1'));
  t.notOk(list.has('::2'));
  t.ok(list.has('FD12:3456::1'), 'upper case');
  t.notOk(list.has('fe80::1'));
  t.ok(new NetworkList(['127.0.0.0/8']).has('::ffff:127.0.0.1'), 'an IPv4-mapped source is matched as IPv4');
  t.ok(new NetworkList(['::ffff:10.0.0.0/104']).has('10.9.8.7'), 'an IPv4-mapped network is an IPv4 one');
  t.notOk(new NetworkList([]).has('127.0.0.1'), 'an empty list trusts nobody');
});

t.test('parseNetwork says what is wrong', async (t) => {
  t.match(parseNetwork('10.1.2.3/8'), { error: /host bits clear \(10\.0\.0\.0\/8/ }, 'host bits set: names the network it would be');
  t.match(parseNetwork('2001:db8::1/32'), { error: /\(2001:db8::\/32/ });
  t.match(parseNetwork('10.0.0.0/33'), { error: /prefix length of an IPv4 network is 0\.\.32/ });
  t.match(parseNetwork('::/129'), { error: /IPv6 network is 0\.\.128/ });
  t.match(parseNetwork('example.com/24'), { error: /^an IPv4 or IPv6 network in CIDR notation/ });
  t.match(parseNetwork('10.0.0.0/'), { error: /prefix length/ });
  t.match(parseNetwork('10.0.0.0/8'), { family: 4, prefix: 8 });
  t.match(parseNetwork('::1'), { family: 6, prefix: 128 });
  t.throws(() => new NetworkList(['nonsense']), { code: 'SIP_ERR_CONFIG' });
});
