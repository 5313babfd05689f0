// Static routes: the longest prefix of the dialled number picks a fixed destination, with
// strip/prepend applied to the number (a carrier's number ranges towards a fixed peer).
import { createError } from '../errors.js';
import { parseUri, type SipUri } from '../sip/uri.js';

export interface StaticRouteConfig { prefix: string; destination: string; strip: number; prepend: string }

export interface RouteMatch { number: string; destination: SipUri; prefix: string }

export class StaticRoutes {
  // sorted longest prefix first so the first match wins
  private readonly routes: Array<{ prefix: string; destination: SipUri; strip: number; prepend: string }>;

  constructor(routes: readonly StaticRouteConfig[]) {
    this.routes = routes
      .map((r) => {
        const destination = parseUri(r.destination);
        if (destination.scheme !== 'sip' && destination.scheme !== 'sips') {
          throw createError('SIP_ERR_CONFIG', `route '${r.prefix}': destination must be a sip: or sips: URI`);
        }
        return { prefix: r.prefix, destination, strip: r.strip, prepend: r.prepend };
      })
      .sort((a, b) => b.prefix.length - a.prefix.length);
  }

  match(dialled: string): RouteMatch | undefined {
    for (const r of this.routes) {
      if (dialled.startsWith(r.prefix)) {
        return { number: r.prepend + dialled.slice(r.strip), destination: r.destination, prefix: r.prefix };
      }
    }
    return undefined;
  }

  get size(): number {
    return this.routes.length;
  }
}
