// Next-hop resolution: addresses at once, host names through a lookup shared by every request
// waiting for it, cached; a lookup the system does not answer in time fails its requests (found by
// the fuzzer: transactions with no timer waited minutes on hung getaddrinfo calls), and lookups
// the system still works on count against the in-flight limit until it answers.
import t from 'tap';
import { NextHopResolver, type HostLookup } from '../../lib/proxy/next-hop.js';
import { parseUri } from '../../lib/sip/uri.js';

const never: HostLookup = () => new Promise(() => undefined);
// the lookup timer is unref'd (it must not hold a stopping proxy open): something has to here
const keepAlive = setInterval(() => undefined, 1000);
t.teardown(() => clearInterval(keepAlive));

t.test('an address needs no lookup; a name is looked up once, shared and cached', async (t) => {
  let calls = 0;
  const r = new NextHopResolver({ lookup: async () => { calls++; return { address: '192.0.2.7' }; } });
  t.same(r.resolve(parseUri('sip:bob@192.0.2.1:5070;transport=tcp')), { transport: 'tcp', address: '192.0.2.1', port: 5070 });
  const a = r.resolve(parseUri('sip:bob@pbx.example.com'));
  const b = r.resolve(parseUri('sip:carol@pbx.example.com:5080'));
  t.ok(a instanceof Promise && b instanceof Promise);
  t.same(await a, { transport: 'udp', address: '192.0.2.7', port: 5060, host: 'pbx.example.com' });
  t.same(await b, { transport: 'udp', address: '192.0.2.7', port: 5080, host: 'pbx.example.com' });
  t.equal(calls, 1, 'one lookup for both requests');
  t.same(r.resolve(parseUri('sips:bob@pbx.example.com')), { transport: 'tls', address: '192.0.2.7', port: 5061, host: 'pbx.example.com' }, 'then from the cache, at once');
  t.equal(r.lookupsRunning, 0);
});

t.test('a lookup with no answer in time fails its requests, and the host is refused for a while', async (t) => {
  const r = new NextHopResolver({ lookup: never, timeoutMs: 30 });
  const started = Date.now();
  await t.rejects(r.resolve(parseUri('sip:bob@hung.example.com')) as Promise<unknown>, /lookup of 'hung\.example\.com' took over 30 ms/);
  t.ok(Date.now() - started < 2000, 'in about the timeout');
  await t.rejects(r.resolve(parseUri('sip:bob@hung.example.com')) as Promise<unknown>, /cannot resolve 'hung\.example\.com'/, 'refused at once afterwards');
  t.equal(r.lookupsRunning, 1, 'the system is still working on it');
});

t.test('a failed lookup is not repeated at once', async (t) => {
  let calls = 0;
  const r = new NextHopResolver({ lookup: async () => { calls++; throw Object.assign(new Error('getaddrinfo ENOTFOUND'), { code: 'ENOTFOUND' }); } });
  await t.rejects(r.resolve(parseUri('sip:x@nowhere.invalid')) as Promise<unknown>, /ENOTFOUND/);
  await t.rejects(r.resolve(parseUri('sip:x@nowhere.invalid')) as Promise<unknown>, /cannot resolve/);
  t.equal(calls, 1);
});

t.test('lookups still running count against the limit, timed out or not', async (t) => {
  const r = new NextHopResolver({ lookup: never, timeoutMs: 20 });
  const waits: Array<Promise<unknown>> = [];
  for (let i = 0; i < 256; i++) waits.push((r.resolve(parseUri(`sip:x@h${i}.example.com`)) as Promise<unknown>).catch(() => undefined));
  await Promise.all(waits); // every one timed out
  t.equal(r.lookupsRunning, 256);
  await t.rejects(r.resolve(parseUri('sip:x@one-more.example.com')) as Promise<unknown>, /too many host-name lookups in flight/);
});
