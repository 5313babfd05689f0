// Load, default, validate and freeze the config. Validation happens once here, so the rest of the
// proxy trusts the Config type and never re-checks (fastify style). Every problem is reported in one
// go, one per line: `path: got <value>, must be <allowed>`.
import { existsSync, readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { availableParallelism } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseDocument } from 'yaml';
import { createError } from '../errors.js';
import { describeAllowed } from './reference.js';
import { ConfigSchema, MAX_WORKERS, type Config, type SchemaNode } from './schema.js';
import { checkSemantics, type ConfigIssue } from './semantic-checks.js';

// RFC 1123 host name: dot-separated labels of letters, digits and inner hyphens.
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;

let compiled: ValidateFunction | undefined;

/** Compiled on first use, once per thread. */
function validator(): ValidateFunction {
  if (compiled !== undefined) return compiled;
  // verbose: errors carry the offending data and the schema node, which the messages describe.
  const ajv = new Ajv({ allErrors: true, useDefaults: true, verbose: true, strict: true });
  ajv.addVocabulary(['allowed']);
  ajv.addFormat('ip', (s: string) => isIP(s) !== 0);
  ajv.addFormat('host', (s: string) => isIP(s) !== 0 || HOSTNAME.test(s));
  compiled = ajv.compile(ConfigSchema);
  return compiled;
}

/** JSON-pointer segments of an ajv instancePath. */
function pointerSegments(pointer: string): string[] {
  if (pointer === '') return [];
  return pointer.slice(1).split('/').map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** `listen[1].port` from `/listen/1/port`, using the data to tell list indexes from keys. */
function readablePath(segments: string[], data: unknown): string {
  let path = '';
  let node: unknown = data;
  for (const seg of segments) {
    if (Array.isArray(node)) path += `[${seg}]`;
    else path += /^[A-Za-z_$][\w$-]*$/.test(seg) ? (path === '' ? seg : `.${seg}`) : `[${JSON.stringify(seg)}]`;
    node = typeof node === 'object' && node !== null ? (node as Record<string, unknown>)[seg] : undefined;
  }
  return path === '' ? '(root)' : path;
}

function childPath(parent: string, key: string): string {
  if (!/^[A-Za-z_$][\w$-]*$/.test(key)) return `${parent === '(root)' ? '' : parent}[${JSON.stringify(key)}]`;
  return parent === '(root)' ? key : `${parent}.${key}`;
}

const SECRET_KEYS = /^(password|token)$/i;

/** Short JSON of a bad value; secrets nested inside it are masked. */
function renderValue(value: unknown): string {
  if (value === undefined) return 'nothing';
  const json = JSON.stringify(value, (key, v: unknown) => (SECRET_KEYS.test(key) && typeof v === 'string' ? '***' : v)) ?? String(value);
  return json.length > 80 ? `${json.slice(0, 77)}...` : json;
}

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) {
      cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[b.length]!;
}

function unknownKeyIssue(err: ErrorObject, path: string): ConfigIssue {
  const key = String(err.params.additionalProperty);
  const known = Object.keys((err.parentSchema as SchemaNode).properties ?? {});
  const near = known.find((k) => editDistance(k.toLowerCase(), key.toLowerCase()) <= 2);
  const hint = near === undefined ? '' : `; did you mean '${near}'?`;
  const value = (err.data as Record<string, unknown>)[key];
  return { kind: 'unknown', key, path: childPath(path, key), value, allowed: `${known.join(', ')}${hint}` };
}

/** One issue per bad location: ajv reports a failing anyOf once per branch plus once for itself,
 *  so errors are grouped by path and described by the outermost schema that failed there. */
function schemaIssues(errors: ErrorObject[], data: unknown): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  const byPath = new Map<string, ErrorObject>();
  for (const err of errors) {
    const path = readablePath(pointerSegments(err.instancePath), data);
    if (err.keyword === 'additionalProperties') {
      issues.push(unknownKeyIssue(err, path));
    } else if (err.keyword === 'required') {
      const key = String(err.params.missingProperty);
      const child = (err.parentSchema as SchemaNode).properties?.[key];
      issues.push({ kind: 'missing', path: childPath(path, key), value: undefined, allowed: child ? describeAllowed(child) : 'present' });
    } else {
      const seen = byPath.get(path);
      if (seen === undefined || err.schemaPath.length < seen.schemaPath.length) byPath.set(path, err);
    }
  }
  for (const [path, err] of byPath) {
    issues.push({ path, value: err.data, allowed: describeAllowed(err.parentSchema as SchemaNode) });
  }
  return issues;
}

const SECTION_ORDER = Object.keys(ConfigSchema.properties);

/** Group issues by top-level section, in the order the schema (and default.yaml) lists them. */
function sortBySection(issues: ConfigIssue[]): ConfigIssue[] {
  const rank = (issue: ConfigIssue) => {
    const i = SECTION_ORDER.indexOf(issue.path.split(/[.[]/, 1)[0]!);
    return i === -1 ? SECTION_ORDER.length : i;
  };
  return issues.map((issue, i) => ({ issue, i, r: rank(issue) })).sort((a, b) => a.r - b.r || a.i - b.i).map((x) => x.issue);
}

function formatIssue(issue: ConfigIssue): string {
  switch (issue.kind) {
    case 'unknown':
      return `${issue.path}: unknown key '${issue.key ?? ''}' with value ${renderValue(issue.value)} (allowed: ${issue.allowed})`;
    case 'missing':
      return `${issue.path}: missing, must be ${issue.allowed}`;
    default:
      return `${issue.path}: got ${renderValue(issue.value)}, must be ${issue.allowed}`;
  }
}

function configError(source: string, problems: string[]) {
  const head = `invalid config ${source}: ${problems.length} problem${problems.length === 1 ? '' : 's'}`;
  return createError('SIP_ERR_CONFIG', [head, ...problems.map((p) => `  ${p}`)].join('\n'));
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const child of Object.values(value)) deepFreeze(child);
  }
  return value;
}

/** Default, validate and deep-freeze parsed config data. `raw` is not modified. Throws SIP_ERR_CONFIG. */
export function validateConfig(raw: unknown, source: string): Config {
  let data: unknown;
  try {
    data = structuredClone(raw ?? {});
  } catch (err) {
    throw configError(source, [`(root): not plain data (${(err as Error).message})`]);
  }
  const validate = validator();
  const valid = validate(data);
  const issues = [...(valid ? [] : schemaIssues(validate.errors ?? [], data)), ...checkSemantics(data)];
  if (issues.length > 0) throw configError(source, [...new Set(sortBySection(issues).map(formatIssue))]);
  return deepFreeze(data as Config);
}

/** Parse YAML text (an empty document means all defaults) and validate it. `source` names it in errors. */
export function parseConfigText(text: string, source: string): Config {
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const problems = doc.errors.map((e) => {
      const pos = e.linePos?.[0];
      const where = pos === undefined ? source : `${source}:${pos.line}:${pos.col}`;
      const what = e.message.split('\n')[0]!.replace(/ at line \d+, column \d+:?$/, '');
      return `${where}: YAML syntax error: ${what}`;
    });
    throw configError(source, problems);
  }
  return validateConfig(doc.toJS(), source);
}

/** Read and validate a YAML config file. Throws SIP_ERR_CONFIG_FILE if unreadable, SIP_ERR_CONFIG if invalid. */
export function loadConfigFile(path: string): Config {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw createError('SIP_ERR_CONFIG_FILE', `cannot read config file ${path}: ${(err as Error).message}`);
  }
  return parseConfigText(text, path);
}

/**
 * Worker thread count: `auto` is one per CPU but one, at most MAX_WORKERS. The main thread is busy
 * too (every datagram in and out, a third of the proxy's CPU under call load): with a shard per
 * CPU besides it, the threads outnumber the cores and pay for it in context switches (2 cores: 1
 * shard used 8-12% less CPU per call than 2 at 3,500-5,500 calls/s and carried the same rates,
 * README "Performance"). On one CPU that is 0, the shard on the main thread: a worker could not run
 * beside it, and handing each message to a thread that has to be switched in costs more than the
 * message (bench/PERFORMANCE.md, round 14).
 */
export function resolveWorkerCount(config: Pick<Config, 'workers'>, cpus = availableParallelism()): number {
  if (config.workers !== 'auto') return config.workers;
  return Math.min(MAX_WORKERS, Math.max(0, cpus - 1));
}

/** The directory holding package.json, from lib/config (TS sources) or dist/lib/config (compiled). */
export function packageRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const parent = dirname(dir);
    if (parent === dir) throw createError('SIP_ERR_CONFIG_FILE', `no package.json above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  return dir;
}

/** Absolute path of the embedded config/default.yaml. */
export function defaultConfigPath(): string {
  return join(packageRoot(), 'config', 'default.yaml');
}
