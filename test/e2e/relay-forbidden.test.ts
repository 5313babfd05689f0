// The relay policy on the wire (UDP, loopback): with only 127.0.0.2 trusted, an INVITE from
// 127.0.0.1 through the static route gets 403 and never reaches the route's peer; the same INVITE
// from 127.0.0.2 does. The config names its trusted network: nothing here leans on the default.
import t from 'tap';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { startTestAdmin } from '../helpers/admin-client.js';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { sipRequest, udpPeer } from '../helpers/udp-peer.js';

t.setTimeout(30_000);

t.test('untrusted source: 403 Relay Forbidden on the wire, the route peer sees nothing', async (t) => {
  const routePeer = await udpPeer();
  t.teardown(() => routePeer.close());
  const proxy = await startTestProxy({
    routes: [{ prefix: '9', destination: `sip:127.0.0.1:${routePeer.port}`, strip: 0, prepend: '' }],
    security: { trustedNetworks: ['127.0.0.2/32'] },
  });
  t.teardown(() => proxy.close());

  const caller = await udpPeer(); // bound to 127.0.0.1: outside the trusted network
  t.teardown(() => caller.close());
  caller.send(sipRequest('INVITE', `sip:9000@127.0.0.1:${proxy.udpPort}`, caller.port, { callId: 'relay-1@test' }), proxy.udpPort);
  const refused = await caller.next(/^SIP\/2\.0 [2-6]\d\d /);
  t.match(refused, /^SIP\/2\.0 403 Relay Forbidden\r\n/, '403 on the wire');
  t.match(refused, /\r\nCall-ID: relay-1@test\r\n/);

  // the trusted source, through the same route: the peer gets this one (and so would have got the first)
  const trusted = createSocket('udp4');
  await new Promise<void>((r) => trusted.bind(0, '127.0.0.2', r));
  t.teardown(() => trusted.close());
  const port = trusted.address().port;
  const firstAnswer = once(trusted, 'message') as Promise<[Buffer]>;
  trusted.send(sipRequest('INVITE', `sip:9001@127.0.0.1:${proxy.udpPort}`, port, { callId: 'relay-2@test' }).replace(/127\.0\.0\.1:(\d+);branch/, '127.0.0.2:$1;branch'), proxy.udpPort, '127.0.0.1');
  const reached = await routePeer.next(/^INVITE /);
  t.match(reached, /\r\nCall-ID: relay-2@test\r\n/, 'the INVITE from 127.0.0.2 reached the route peer');
  const [trying] = await firstAnswer;
  t.match(trying.toString('latin1'), /^SIP\/2\.0 100 /);

  t.notOk(routePeer.received.some((m) => m.includes('relay-1@test')), 'the refused INVITE never reached the route peer');
  const reports = await proxy.shardStats();
  t.equal(reports.reduce((n, r) => n + (r.counters.relayForbidden ?? 0), 0), 1, 'counted once in the shard stats');
  const { admin, call } = await startTestAdmin(proxy);
  t.teardown(() => admin.close());
  t.match((await call('/metrics')).text, /^sipshard_relay_forbidden_total 1$/m, 'and in /metrics');
});
