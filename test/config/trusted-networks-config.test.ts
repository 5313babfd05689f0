// security.trustedNetworks in the config: the default (loopback), errors that name path, value and
// what is allowed, and a reload that changes it refused (it is read at start).
import t from 'tap';
import { isSipProxyError } from '../../lib/errors.js';
import { assertLiveReloadable } from '../../lib/config/live-reload.js';
import { parseConfigText } from '../../lib/config/load-config.js';

function configErrorOf(yaml: string): string {
  try {
    parseConfigText(yaml, 'test.yaml');
  } catch (err) {
    if (isSipProxyError(err, 'SIP_ERR_CONFIG')) return (err as Error).message;
    throw err;
  }
  return '';
}

t.test('the default trusts loopback only', async (t) => {
  t.same(parseConfigText('{}\n', 'empty.yaml').security.trustedNetworks, ['127.0.0.0/8', '::1/128']);
  t.same(parseConfigText('security: { trustedNetworks: [] }\n', 'none.yaml').security.trustedNetworks, [], 'an empty list trusts nobody');
});

t.test('bad networks: path, value and what is allowed', async (t) => {
  const msg = configErrorOf('security:\n  trustedNetworks: [10.0.0.0/8, 10.1.2.3/8, "2001:db8::/200", bogus, 7]\n');
  t.match(msg, 'invalid config test.yaml: 4 problems');
  t.match(msg, 'security.trustedNetworks[1]: got "10.1.2.3/8", must be a network address with the host bits clear (10.0.0.0/8, or the address alone for one host)');
  t.match(msg, 'security.trustedNetworks[2]: got "2001:db8::/200", must be an IPv4 or IPv6 network in CIDR notation (10.0.0.0/8, 2001:db8::/32) or a single address; the prefix length of an IPv6 network is 0..128');
  t.match(msg, 'security.trustedNetworks[3]: got "bogus", must be an IPv4 or IPv6 network in CIDR notation');
  t.match(msg, 'security.trustedNetworks[4]: got 7, must be an IPv4 or IPv6 network in CIDR notation');
  t.match(configErrorOf('security: { trustedNetworks: [10.0.0.0/8, 10.0.0.0/8] }\n'), 'security.trustedNetworks: got ["10.0.0.0/8","10.0.0.0/8"], must be a list without duplicates');
});

t.test('a reload may change the trusted networks (applied live by the shards)', async (t) => {
  const running = parseConfigText('{}\n', 'a.yaml');
  const next = parseConfigText('security: { trustedNetworks: [10.0.0.0/8] }\n', 'b.yaml');
  t.doesNotThrow(() => assertLiveReloadable(running, next));
  t.doesNotThrow(() => assertLiveReloadable(running, parseConfigText('security: { ratePerWindow: 10 }\n', 'c.yaml')));
});
