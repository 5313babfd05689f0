// The admin web page in headless Chromium: it logs in with the token and shows live figures
// (totals, one row per shard, the open dialogs, the registrations, lines, trunks and routes). A
// screenshot is saved under
// .tap/screenshots/ for a human to look at.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import { packageRoot } from '../../lib/config/load-config.js';
import { startTestProxy, testConfig } from '../helpers/proxy-harness.js';
import { startTestAdmin } from '../helpers/admin-client.js';
import { chromiumMissing, launchChromium } from '../helpers/chromium.js';
import { freeUdpPort, loopbackArgs, requireSipp, startSipp } from '../helpers/sipp.js';
import { grantingRegistrar, sipRequest, udpPeer } from '../helpers/udp-peer.js';

const CALLS = 3;

t.setTimeout(90_000);

const missing = chromiumMissing();
if (missing !== undefined && process.env.CI === 'true') t.fail(`Chromium is required in CI: ${missing}`);
else if (missing !== undefined) t.skip(missing, () => undefined);
else if (requireSipp(t)) {
  t.test('the page shows live stats, shards, dialogs, registrations, lines and trunks', async (t) => {
    const uasPort = await freeUdpPort();
    const base = testConfig();
    const provider = await grantingRegistrar();
    t.teardown(() => provider.close());
    const proxy = await startTestProxy({
      auth: { ...base.auth, register: false },
      lines: [{ name: 'prov', registrar: `sip:127.0.0.1:${provider.port}`, username: 'acct1', password: 'x', expires: 300 }],
      trunks: [{ name: 'gw', addresses: ['127.0.0.1:5999'] }],
      routes: [
        { prefix: '9', destination: `sip:127.0.0.1:${uasPort}`, strip: 1, prepend: '' },
        { prefix: '0', line: 'prov', strip: 1, prepend: '' },
      ],
    });
    t.teardown(() => proxy.close());
    const { admin } = await startTestAdmin(proxy);
    t.teardown(() => admin.close());

    const phone = await udpPeer();
    t.teardown(() => phone.close());
    phone.send(sipRequest('REGISTER', 'sip:127.0.0.1', phone.port, { callId: 'page-reg', from: '<sip:101@127.0.0.1>', to: '<sip:101@127.0.0.1>', extra: ['Expires: 900'] }), proxy.udpPort);
    await phone.next(/^SIP\/2\.0 200 /);

    const uas = await startSipp(['-sn', 'uas', ...await loopbackArgs(uasPort)], { timeoutMs: 60_000 });
    t.teardown(() => uas.stop());
    const uac = await startSipp([
      '-sn', 'uac', '-s', '9000', `127.0.0.1:${proxy.udpPort}`, ...await loopbackArgs(await freeUdpPort()),
      '-m', String(CALLS), '-r', '10', '-d', '20000', '-timeout', '40s',
    ], { timeoutMs: 40_000 });
    t.teardown(() => uac.stop(1000));

    const browser = await launchChromium();
    t.teardown(() => browser.close());
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });

    await page.goto(`${admin.url}/`);
    t.equal(await page.title(), 'sipshard admin');
    await page.fill('#token', admin.token());
    await page.click('#login button');
    await page.waitForFunction(() => document.querySelector('#status')?.classList.contains('ok'), undefined, { timeout: 10_000 });
    await page.waitForFunction((n) => document.querySelector('#dialogs-count')?.textContent === `(${n})`, CALLS, { timeout: 15_000 });

    const shardRows = await page.locator('#shards tbody tr').count();
    t.equal(shardRows, 3, 'one row per shard: the two workers and the main thread\'s (shard.placement: load, the default)');
    t.match(await page.locator('#shards tbody tr').last().innerText(), /^64 \(main thread\)/, "the main thread's shard is labelled");
    t.equal(await page.locator('#dialogs tbody tr').count(), CALLS, 'every open dialog listed');
    t.match(await page.locator('#dialogs tbody').innerText(), /confirmed/);
    t.match(await page.locator('#registrations tbody').innerText(), /sip:101@127\.0\.0\.1/, 'the registration is shown');
    t.match(await page.locator('#peers tbody').innerText(), new RegExp(`sip:127\\.0\\.0\\.1:${uasPort}`), 'the route is shown');
    t.match(await page.locator('#peers tbody').innerText(), /line prov/, 'a route to a line names it');
    await page.waitForFunction(() => /registered/.test(document.querySelector('#lines tbody')?.textContent ?? ''), undefined, { timeout: 10_000 });
    const line = (await page.locator('#lines tbody tr').allInnerTexts()).join('\n');
    t.match(line, /prov\s+sip:127\.0\.0\.1:\d+\s+registered\s+200\s+\d+ s/, 'the line, its registrar, state, last status and time left');
    t.match(line, /passthrough/, 'its 100rel mode');
    t.equal(await page.locator('#lines-count').innerText(), '(1)');
    t.match(await page.locator('#trunks tbody').innerText(), /gw\s+127\.0\.0\.1:5999\s+up \(no keep-alive\)/, 'the trunk and its state');
    t.equal(await page.locator('.card[data-key="dialogs"] .v').innerText(), String(CALLS), 'totals card counts the dialogs');
    t.equal(await page.locator('.card[data-key="shedding"] .v').innerText(), 'no', 'whole-proxy overload state: not shedding at 10 calls/s');
    t.equal(await page.locator('.card[data-key="shed"] .v').innerText(), '0', 'nothing shed');
    t.equal(await page.locator('.card[data-key="shards"] .v').innerText(), '3');

    // live: the page follows a change without a reload
    const before = await page.locator('.card[data-key="answered"] .v').innerText();
    t.equal(before, String(CALLS));
    const dir = join(packageRoot(), '.tap', 'screenshots');
    mkdirSync(dir, { recursive: true });
    const shot = join(dir, 'admin-page.png');
    await page.screenshot({ path: shot, fullPage: true });
    t.comment(`screenshot: ${shot}`);

    const bad = await browser.newPage();
    await bad.goto(`${admin.url}/`);
    await bad.fill('#token', 'wrong');
    await bad.click('#login button');
    await bad.waitForFunction(() => document.querySelector('#status')?.classList.contains('error'), undefined, { timeout: 10_000 });
    t.match(await bad.locator('#status').innerText(), /ADMIN_ERR_UNAUTHORIZED/, 'a wrong token is shown as such');
    t.same(errors, [], 'no script errors on the page');
  });
}
