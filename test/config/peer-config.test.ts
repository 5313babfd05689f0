import t from 'tap';
import { validateConfig } from '../../lib/config/load-config.js';

function problems(data: Record<string, unknown>): string {
  try {
    validateConfig(data, 'test.yaml');
    return '';
  } catch (err) {
    return (err as Error).message;
  }
}

const line = { name: 'prov', registrar: 'sip:sip.provider.example', username: 'acct', password: 'pw' };
const trunk = { name: 'gw', addresses: ['192.0.2.1', '192.0.2.2:5070', '[2001:db8::1]:5060', '2001:db8::2'] };

t.test('lines, trunks and routes of every kind are accepted with their defaults', async (t) => {
  const c = validateConfig({ users: [{ username: '101', password: 'x' }], lines: [line], trunks: [trunk], routes: [
    { prefix: '0', line: 'prov' }, { prefix: '00', trunks: ['gw'] }, { prefix: '+86', user: '101' }, { prefix: '9', destination: 'sip:a.example' },
  ] }, 'test.yaml');
  t.match(c.lines[0], { expires: 3600, transport: 'udp', authUsername: '', outboundProxy: '', register: true, inboundUser: '' });
  t.equal(c.lines[0]!.requestUriParams, undefined, 'no fixed default: it depends on locale');
  t.match(c.trunks[0], { transport: 'udp', maxCalls: 0, requestUriParams: '', domains: [], keepAlive: { intervalSeconds: 0, failuresBeforeDown: 3 } });
});

t.test('cross-field problems name the path', async (t) => {
  const msg = problems({ lines: [line], trunks: [{ ...trunk, name: 'prov' }], routes: [
    { prefix: '1' }, { prefix: '2', line: 'prov', trunks: ['gw'] }, { prefix: '3', trunks: ['nope'] }, { prefix: '4', user: 'ghost' },
  ] });
  t.match(msg, "trunks[0].name: got \"prov\", must be a name unique across lines and trunks (same as lines[0].name)");
  t.match(msg, 'routes[0]: got');
  t.match(msg, 'exactly one of destination, user, line, trunks (has none)');
  t.match(msg, '(has line, trunks)');
  t.match(msg, 'routes[2].trunks[0]: got "nope", must be the name of one of trunks[]');
  t.match(msg, 'routes[3].user: got "ghost", must be the username of one of users[]');
});

t.test('bad requestUriParams and addresses are refused', async (t) => {
  t.match(problems({ trunks: [{ ...trunk, requestUriParams: 'user phone' }] }), "trunks[0].requestUriParams: got \"user phone\", must be '' or ;-separated URI parameters like user=phone");
  t.match(problems({ trunks: [{ name: 'x', addresses: ['gw.example'] }] }), 'trunks[0].addresses[0]: got "gw.example", must be an IP address with an optional :port');
});
