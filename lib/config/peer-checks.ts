// Cross-field rules of lines, trunks and routes: names unique across lines and trunks, each route
// names exactly one kind of destination, and every name a route or line refers to exists.
import type { ConfigIssue } from './semantic-checks.js';

type Obj = Record<string, unknown>;

const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const str = (v: unknown): string => (typeof v === 'string' ? v : '');

function names(entries: unknown): Set<string> {
  return new Set(list(entries).map((e) => str(e.name)).filter((n) => n !== ''));
}

function uniquePeerNames(config: Obj): ConfigIssue[] {
  const seen = new Map<string, string>();
  const issues: ConfigIssue[] = [];
  for (const kind of ['lines', 'trunks'] as const) {
    const entries = config[kind];
    if (!Array.isArray(entries)) continue;
    entries.forEach((e: unknown, i) => {
      if (!isObj(e) || typeof e.name !== 'string') return;
      const path = `${kind}[${i}].name`;
      const first = seen.get(e.name);
      if (first === undefined) seen.set(e.name, path);
      else issues.push({ path, value: e.name, allowed: `a name unique across lines and trunks (same as ${first})` });
    });
  }
  return issues;
}

function routeTargets(config: Obj): ConfigIssue[] {
  const lines = names(config.lines);
  const trunks = names(config.trunks);
  const users = new Set(list(config.users).map((u) => str(u.username)));
  const issues: ConfigIssue[] = [];
  const routes = Array.isArray(config.routes) ? config.routes : [];
  routes.forEach((r: unknown, i) => {
    if (!isObj(r)) return;
    const path = `routes[${i}]`;
    const given = ['destination', 'user', 'line'].filter((k) => str(r[k]) !== '');
    if (Array.isArray(r.trunks) && r.trunks.length > 0) given.push('trunks');
    if (given.length !== 1) {
      issues.push({ path, value: r, allowed: `a route with exactly one of destination, user, line, trunks (has ${given.length === 0 ? 'none' : given.join(', ')})` });
    }
    if (str(r.user) !== '' && !users.has(str(r.user))) issues.push({ path: `${path}.user`, value: r.user, allowed: 'the username of one of users[]' });
    if (str(r.line) !== '' && !lines.has(str(r.line))) issues.push({ path: `${path}.line`, value: r.line, allowed: 'the name of one of lines[]' });
    if (Array.isArray(r.trunks)) {
      r.trunks.forEach((name: unknown, j) => {
        if (typeof name === 'string' && !trunks.has(name)) issues.push({ path: `${path}.trunks[${j}]`, value: name, allowed: 'the name of one of trunks[]' });
      });
    }
  });
  list(config.lines).forEach((l, i) => {
    if (str(l.inboundUser) !== '' && !users.has(str(l.inboundUser))) {
      issues.push({ path: `lines[${i}].inboundUser`, value: l.inboundUser, allowed: 'the username of one of users[]' });
    }
  });
  return issues;
}

export function checkPeers(config: Obj): ConfigIssue[] {
  return [...uniquePeerNames(config), ...routeTargets(config)];
}
