// Cross-field rules JSON schema cannot express. They run on the defaulted data even when the schema
// check failed, so one load reports every problem; each rule skips parts that are malformed
// (the schema errors already cover those).
import { parseNetwork } from '../security/trusted-networks.js';
import { checkPeers } from './peer-checks.js';

/** One config problem: the field, the value found there, and what is allowed (reads after "must be"). */
export interface ConfigIssue {
  /** 'invalid' (the default): bad value; 'missing': required key absent; 'unknown': key not in the schema. */
  kind?: 'invalid' | 'missing' | 'unknown';
  /** For 'unknown': the offending key. */
  key?: string;
  path: string;
  value: unknown;
  allowed: string;
}

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const isInt = (v: unknown): v is number => Number.isInteger(v);

/** Issues for entries of `list` whose key (as computed by `keyOf`; undefined = skip) repeats an earlier one. */
function duplicates(list: unknown, listPath: string, field: string | undefined, keyOf: (entry: Obj) => string | undefined, what: string): ConfigIssue[] {
  if (!Array.isArray(list)) return [];
  const seen = new Map<string, number>();
  const issues: ConfigIssue[] = [];
  list.forEach((entry: unknown, i) => {
    if (!isObj(entry)) return;
    const key = keyOf(entry);
    if (key === undefined) return;
    const first = seen.get(key);
    if (first === undefined) {
      seen.set(key, i);
      return;
    }
    const suffix = field === undefined ? '' : `.${field}`;
    issues.push({
      path: `${listPath}[${i}]${suffix}`,
      value: field === undefined ? entry : entry[field],
      allowed: `${what} (same as ${listPath}[${first}]${suffix})`,
    });
  });
  return issues;
}

function expiresOrder(registrar: unknown): ConfigIssue[] {
  if (!isObj(registrar)) return [];
  const { minExpires: min, defaultExpires: def, maxExpires: max } = registrar;
  const issues: ConfigIssue[] = [];
  if (isInt(min) && isInt(max) && min > max) {
    issues.push({ path: 'registrar.minExpires', value: min, allowed: `<= registrar.maxExpires (${max})` });
  }
  if (isInt(min) && isInt(def) && def < min) {
    issues.push({ path: 'registrar.defaultExpires', value: def, allowed: `>= registrar.minExpires (${min})` });
  }
  if (isInt(max) && isInt(def) && def > max) {
    issues.push({ path: 'registrar.defaultExpires', value: def, allowed: `<= registrar.maxExpires (${max})` });
  }
  return issues;
}

function timerOrder(proxy: unknown): ConfigIssue[] {
  if (!isObj(proxy) || !isInt(proxy.t1Ms) || !isInt(proxy.t2Ms) || proxy.t2Ms >= proxy.t1Ms) return [];
  // RFC 3261 17.1.2.2: T2 caps the doubling interval that starts at T1.
  return [{ path: 'proxy.t2Ms', value: proxy.t2Ms, allowed: `>= proxy.t1Ms (${proxy.t1Ms})` }];
}

/** Hysteresis needs each low mark under its high mark, or shedding would never stop. */
function overloadMarks(overload: unknown): ConfigIssue[] {
  if (!isObj(overload)) return [];
  const { eluLow, eluHigh, backlogLow, backlogHigh, rxQueueLowBytes, rxQueueHighBytes } = overload;
  const issues: ConfigIssue[] = [];
  if (typeof eluLow === 'number' && typeof eluHigh === 'number' && eluLow >= eluHigh) {
    issues.push({ path: 'overload.eluLow', value: eluLow, allowed: `< overload.eluHigh (${eluHigh})` });
  }
  if (isInt(backlogLow) && isInt(backlogHigh) && backlogLow >= backlogHigh) {
    issues.push({ path: 'overload.backlogLow', value: backlogLow, allowed: `< overload.backlogHigh (${backlogHigh})` });
  }
  if (isInt(rxQueueLowBytes) && isInt(rxQueueHighBytes) && rxQueueLowBytes >= rxQueueHighBytes) {
    issues.push({ path: 'overload.rxQueueLowBytes', value: rxQueueLowBytes, allowed: `< overload.rxQueueHighBytes (${rxQueueHighBytes})` });
  }
  return issues;
}

const str = (v: unknown): string | undefined => (typeof v === 'string' ? v : undefined);

/** A certificate without its key (or the reverse) cannot serve TLS. */
function certKeyPair(section: unknown, path: string): ConfigIssue[] {
  if (!isObj(section) || typeof section.certFile !== 'string' || typeof section.keyFile !== 'string') return [];
  if ((section.certFile === '') === (section.keyFile === '')) return [];
  const missing = section.certFile === '' ? 'certFile' : 'keyFile';
  const given = missing === 'certFile' ? 'keyFile' : 'certFile';
  return [{ path: `${path}.${missing}`, value: section[missing], allowed: `a file path, since ${path}.${given} is set` }];
}

/** Each trusted network must parse, prefix length in range and host bits clear (JSON schema cannot say it). */
function trustedNetworks(security: unknown): ConfigIssue[] {
  if (!isObj(security) || !Array.isArray(security.trustedNetworks)) return [];
  const issues: ConfigIssue[] = [];
  security.trustedNetworks.forEach((text: unknown, i) => {
    if (typeof text !== 'string') return; // the schema reports it
    const net = parseNetwork(text);
    if ('error' in net) issues.push({ path: `security.trustedNetworks[${i}]`, value: text, allowed: net.error });
  });
  return issues;
}

/** Every cross-field problem in a (defaulted, possibly schema-invalid) config. */
export function checkSemantics(config: unknown): ConfigIssue[] {
  if (!isObj(config)) return [];
  return [
    ...expiresOrder(config.registrar),
    ...timerOrder(config.proxy),
    ...overloadMarks(config.overload),
    ...certKeyPair(config.tls, 'tls'),
    ...certKeyPair(config.admin, 'admin'),
    ...trustedNetworks(config.security),
    ...duplicates(config.users, 'users', 'username', (u) => str(u.username), 'a unique username'),
    ...duplicates(config.routes, 'routes', 'prefix', (r) => str(r.prefix), 'a unique route prefix'),
    ...checkPeers(config),
    ...duplicates(
      config.listen,
      'listen',
      undefined,
      (l) => (typeof l.transport === 'string' && typeof l.address === 'string' && isInt(l.port) ? `${l.transport} ${l.address} ${l.port}` : undefined),
      'a unique transport+address+port',
    ),
    // TCP and TLS listeners both bind a TCP port
    ...duplicates(
      config.listen,
      'listen',
      'port',
      (l) => ((l.transport === 'tcp' || l.transport === 'tls') && typeof l.address === 'string' && isInt(l.port) && l.port !== 0 ? `${l.address} ${l.port}` : undefined),
      'a port no other tcp or tls listener on this address uses',
    ),
  ];
}
