// 1,000 calls from a sipp UAC dialling 9000, routed by the static route '9' to a sipp UAS, all
// complete (INVITE/200/ACK, BYE/200) and leave no confirmed dialog behind in the shards.
import t from 'tap';
import { startTestProxy } from '../helpers/proxy-harness.js';
import { freeUdpPort, loopbackArgs, requireSipp, runSipp, sippReport, startSipp, summary } from '../helpers/sipp.js';
import { settledShardTotals } from '../helpers/shard-totals.js';

const CALLS = 1000;
const RATE = 100;

t.setTimeout(120_000);

if (requireSipp(t)) {
  t.test(`${CALLS} calls at ${RATE}/s through the static route reach the UAS and all end`, async (t) => {
    const uasPort = await freeUdpPort();
    const proxy = await startTestProxy({ routes: [{ prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' }] });
    t.teardown(() => proxy.close());
    const uas = await startSipp(['-sn', 'uas', ...await loopbackArgs(uasPort)], { timeoutMs: 60_000 });
    t.teardown(() => uas.stop());

    const uac = await runSipp([
      '-sn', 'uac', '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', String(RATE), '-d', '100', '-timeout', '45s', '-timeout_error',
    ], { timeoutMs: 45_000 });
    const callee = summary(await uas.stop());
    const caller = summary(uac);
    t.comment(`uac: ${JSON.stringify(caller)}`);
    t.comment(`uas: ${JSON.stringify(callee)}`);

    t.equal(uac.code, 0, 'sipp uac exit 0 (every call succeeded)', { sipp: sippReport(uac) });
    t.equal(caller.created, CALLS);
    t.equal(caller.successful, CALLS, 'all calls successful');
    t.equal(caller.failed, 0, 'no call failed');
    t.equal(callee.incoming, CALLS, 'the UAS saw every call');
    t.equal(callee.failed, 0, 'no call failed at the UAS');

    const totals = await settledShardTotals(proxy, (s) => s.confirmed === 0);
    t.comment(`proxy: ${JSON.stringify(totals)}`);
    t.equal(totals.confirmed, 0, 'no confirmed dialog left after the BYEs');
    t.equal(totals.internalErrors, 0, 'no internal errors');
  });
}
