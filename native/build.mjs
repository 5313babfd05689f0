// `npm ci` / `npm install` step: build the optional sendmmsg addon (native/udp_batch.c) with the
// node-gyp npm ships. Never fails the install: without the addon (not Linux, no compiler) the
// proxy sends every datagram through Node's dgram, as before, and says so at start.
import { spawnSync } from 'node:child_process';

if (process.platform !== 'linux') {
  console.log('sipshard: native UDP batch send is Linux only; using Node dgram sends');
  process.exit(0);
}
const r = spawnSync('node-gyp', ['rebuild'], { stdio: 'inherit' });
if (r.status !== 0) {
  console.warn(`sipshard: native UDP batch send not built (node-gyp ${r.error ? r.error.message : `exit ${r.status}`}); the proxy falls back to Node dgram sends`);
}
process.exit(0);
