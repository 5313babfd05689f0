// /api/peers: static routes, lines and trunks with their state as the owning shards report it and
// their 100rel mode (configured, in force, and when an `auto` peer learned disable); the reset of a
// learned 100rel disable.
import type { ProxyHandle } from '../lib/server.js';
import { effectiveRel100 } from '../lib/policy/rel100.js';
import { adminError } from './errors.js';

interface Rel100View { configured: string; mode: 'passthrough' | 'disable'; learnedAt: string | null; learnedStatus: number | null }

function rel100View(proxy: ProxyHandle, name: string, configured: 'passthrough' | 'disable' | 'auto'): Rel100View {
  const l = configured === 'auto' ? proxy.rel100Learned().find((x) => x.peer === name) : undefined;
  return {
    configured, mode: effectiveRel100(configured, l !== undefined),
    learnedAt: l === undefined ? null : new Date(l.learnedAt).toISOString(), learnedStatus: l?.status ?? null,
  };
}

export function peersView(proxy: ProxyHandle): unknown {
  const states = new Map(proxy.peerStates().map((s) => [s.name, s]));
  const cfg = proxy.config;
  return {
    routes: cfg.routes.map((r) => ({ ...r, state: 'static' })),
    lines: cfg.lines.map((l) => ({ name: l.name, registrar: l.registrar, state: states.get(l.name) ?? null, rel100: rel100View(proxy, l.name, l.rel100) })),
    trunks: cfg.trunks.map((t) => ({
      name: t.name, addresses: t.addresses, keepAliveSeconds: t.keepAlive.intervalSeconds, state: states.get(t.name) ?? null, rel100: rel100View(proxy, t.name, t.rel100),
    })),
  };
}

const RESET = /^\/api\/peers\/([A-Za-z0-9._-]+)\/rel100\/reset$/;

/** POST /api/peers/<name>/rel100/reset: back to passthrough until the peer refuses a PRACK again. */
export function rel100ResetPath(pathname: string): string | undefined {
  return RESET.exec(pathname)?.[1];
}

export function resetRel100(proxy: ProxyHandle, name: string): unknown {
  const peer = proxy.config.lines.find((l) => l.name === name) ?? proxy.config.trunks.find((t) => t.name === name);
  if (peer === undefined) throw adminError('ADMIN_ERR_NOT_FOUND', `no line or trunk named ${name}`);
  const reset = proxy.resetRel100(name);
  return { peer: name, reset, rel100: rel100View(proxy, name, peer.rel100) };
}
