// Config validate and reload for the admin API and SIGHUP: parse and check the new config, refuse
// it whole (reason included) when it is invalid or changes what only a restart applies, otherwise
// swap it in on every shard. The running config stays on any failure.
import { isSipProxyError } from '../lib/errors.js';
import { restartOnlyChanges } from '../lib/config/live-reload.js';
import { loadConfigFile, parseConfigText } from '../lib/config/load-config.js';
import type { Config } from '../lib/config/schema.js';
import type { ProxyHandle } from '../lib/server.js';
import { adminError, type AdminError } from './errors.js';

/** Where a new config comes from: a request body (YAML or JSON) or the config file. */
export interface ConfigSource {
  text?: string;
  path?: string;
}

function problemsOf(message: string): string[] {
  return message.split('\n').slice(1).map((l) => l.trim()).filter((l) => l !== '');
}

function asAdminError(err: unknown, code: 'ADMIN_ERR_CONFIG_INVALID' | 'ADMIN_ERR_RELOAD_REFUSED'): AdminError {
  if (isSipProxyError(err, 'SIP_ERR_SHARD')) return adminError('ADMIN_ERR_SHARD_TIMEOUT', err.message);
  if (isSipProxyError(err, 'SIP_ERR_RESIZE_BUSY')) return adminError('ADMIN_ERR_RESIZE_BUSY', err.message);
  if (isSipProxyError(err)) return adminError(code, err.message.split('\n')[0]!, { problems: problemsOf(err.message) });
  return adminError('ADMIN_ERR_INTERNAL', String((err as Error)?.message ?? err));
}

/** Parse and validate; throws ADMIN_ERR_CONFIG_INVALID (with one problem per line) or BAD_REQUEST. */
export function parseNewConfig(source: ConfigSource): { config: Config; from: string } {
  try {
    if (source.text !== undefined && source.text.trim() !== '') return { config: parseConfigText(source.text, 'request body'), from: 'request body' };
    if (source.path !== undefined) return { config: loadConfigFile(source.path), from: source.path };
  } catch (err) {
    throw asAdminError(err, 'ADMIN_ERR_CONFIG_INVALID');
  }
  throw adminError('ADMIN_ERR_BAD_REQUEST', 'no config given and no config file to read');
}

export function validateNewConfig(proxy: ProxyHandle, source: ConfigSource): { valid: true; source: string; restartRequired: string[] } {
  const { config, from } = parseNewConfig(source);
  return { valid: true, source: from, restartRequired: restartOnlyChanges(proxy.config, config) };
}

export async function reloadConfig(proxy: ProxyHandle, source: ConfigSource): Promise<{ reloaded: true; source: string }> {
  const { config, from } = parseNewConfig(source);
  try {
    await proxy.reload(config);
  } catch (err) {
    throw asAdminError(err, 'ADMIN_ERR_RELOAD_REFUSED');
  }
  return { reloaded: true, source: from };
}

/** The config with passwords and tokens masked, for GET /api/config. */
export function maskedConfig(config: Config): unknown {
  return JSON.parse(JSON.stringify(config, (key, v: unknown) => (/^(password|token)$/i.test(key) && typeof v === 'string' && v !== '' ? '***' : v)));
}
