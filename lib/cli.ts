#!/usr/bin/env node
// Entry point: `node dist/lib/cli.js [--config FILE]`. A bad config is reported (path, value, what
// is allowed) and the process exits non-zero before anything is bound; so is a bad command line.
import { parseArgs } from 'node:util';
import { isSipProxyError } from './errors.js';
import { defaultConfigPath, loadConfigFile } from './config/load-config.js';
import { createLogger } from './log.js';
import { missingProxyFlags } from './node-flags.js';
import { startProxy } from './server.js';
import { startAdmin } from '../admin/admin-server.js';
import { reloadConfig } from '../admin/reload.js';

const USAGE = `usage: node [node options] dist/lib/cli.js [--config FILE]   (npm start runs it with the node options it needs)
  -c, --config FILE  the YAML config (default: ${defaultConfigPath()}, which listens on loopback
                     only; its comments say what to change); the README's "Configuration reference" lists every setting
  -h, --help         this text
signals: SIGHUP re-reads the config file, SIGTERM/SIGINT stop gracefully (a second one stops at once)
`;

/** --config's value; --help prints the usage and exits 0, anything else unknown exits 2 (no stack trace). */
function configArg(argv: readonly string[]): string | undefined {
  let values;
  try {
    ({ values } = parseArgs({ args: [...argv], options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } } }));
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n${USAGE}`);
    process.exit(2);
  }
  if (values.help === true) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  return values.config;
}

async function main(): Promise<void> {
  const path = configArg(process.argv.slice(2)) ?? defaultConfigPath();
  let config;
  try {
    config = loadConfigFile(path);
  } catch (err) {
    process.stderr.write(`${isSipProxyError(err) ? err.message : String(err)}\n`);
    process.exit(2);
  }
  const log = createLogger(config.log.level);
  const missing = missingProxyFlags(process.execArgv, process.env.NODE_OPTIONS);
  if (missing.length > 0) log.info({ missing }, 'node started without these options (npm start passes them; lib/node-flags.ts says why): more memory on the main thread under load, or more latency where V8 has more helper threads than spare CPUs');
  const proxy = await startProxy(config, log);
  const admin = await startAdmin(proxy, { log, configPath: path }).catch(async (err: unknown) => {
    await proxy.close();
    throw err;
  });
  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) {
      // a second signal: stop waiting for transactions (state is still flushed)
      log.warn({ signal }, 'second signal: closing now');
      proxy.close().then(() => process.exit(0), () => process.exit(1));
      return;
    }
    stopping = true;
    log.info({ signal }, 'stopping');
    Promise.resolve(admin?.close()).then(() => proxy.shutdown()).then(() => process.exit(0), (err: unknown) => { log.error({ err }, 'shutdown failed'); process.exit(1); });
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
  // SIGHUP re-reads the config file; a refused reload is logged and the running config stays
  process.on('SIGHUP', () => {
    reloadConfig(proxy, { path }).then(
      () => log.info({ path }, 'SIGHUP: config reloaded'),
      (err: Error & { details?: unknown }) => log.error({ path, reason: err.message, details: err.details }, 'SIGHUP: reload refused; the running config stays'),
    );
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`fatal: ${isSipProxyError(err) ? err.message : String((err as Error)?.stack ?? err)}\n`);
  process.exit(1);
});
