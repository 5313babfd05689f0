// The host we write into Via and Record-Route for a listener. A socket bound to 0.0.0.0 or :: has
// no address a peer can reach us at: use the configured `advertise`, else the machine's first
// non-loopback address of that family, else loopback.
import { isIP } from 'node:net';
import { networkInterfaces } from 'node:os';

export function isWildcard(address: string): boolean {
  return address === '0.0.0.0' || address === '::';
}

export function advertisedHost(address: string, advertise: string | undefined): string {
  if (advertise !== undefined && advertise !== '') return advertise;
  if (!isWildcard(address)) return address;
  const family = isIP(address) === 6 ? 'IPv6' : 'IPv4';
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === family && !a.internal && !a.address.startsWith('fe80:')) return a.address;
  }
  return family === 'IPv6' ? '::1' : '127.0.0.1';
}
