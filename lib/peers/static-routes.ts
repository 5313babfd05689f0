// The dial plan: the longest prefix of the dialled number picks a route, with strip/prepend applied
// to the number, towards a fixed URI, a local user, a line, or an ordered list of trunks.
import { createError } from '../errors.js';
import { parseUri, type SipUri } from '../sip/uri.js';

export interface StaticRouteConfig {
  prefix: string;
  destination?: string;
  user?: string;
  line?: string;
  trunks?: readonly string[];
  strip: number;
  prepend: string;
}

/** Where a route sends its calls: exactly one kind (the config checks guarantee it). */
export type RouteTarget =
  | { kind: 'uri'; destination: SipUri }
  | { kind: 'user'; user: string }
  | { kind: 'line'; line: string }
  | { kind: 'trunks'; trunks: readonly string[] };

export interface RouteMatch { number: string; target: RouteTarget; prefix: string }

function targetOf(r: StaticRouteConfig): RouteTarget {
  if (r.user !== undefined && r.user !== '') return { kind: 'user', user: r.user };
  if (r.line !== undefined && r.line !== '') return { kind: 'line', line: r.line };
  if (r.trunks !== undefined && r.trunks.length > 0) return { kind: 'trunks', trunks: [...r.trunks] };
  const destination = parseUri(r.destination ?? '');
  if (destination.scheme !== 'sip' && destination.scheme !== 'sips') {
    throw createError('SIP_ERR_CONFIG', `route '${r.prefix}': destination must be a sip: or sips: URI`);
  }
  return { kind: 'uri', destination };
}

export class StaticRoutes {
  // sorted longest prefix first so the first match wins
  private readonly routes: Array<{ prefix: string; target: RouteTarget; strip: number; prepend: string }>;

  constructor(routes: readonly StaticRouteConfig[]) {
    this.routes = routes
      .map((r) => ({ prefix: r.prefix, target: targetOf(r), strip: r.strip, prepend: r.prepend }))
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  match(dialled: string): RouteMatch | undefined {
    for (const r of this.routes) {
      if (dialled.startsWith(r.prefix)) {
        return { number: r.prepend + dialled.slice(r.strip), target: r.target, prefix: r.prefix };
      }
    }
    return undefined;
  }

  get size(): number {
    return this.routes.length;
  }
}
