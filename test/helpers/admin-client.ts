// Starts the admin module on a test proxy (ephemeral port, token in the test's temp dir) and
// talks to it with fetch.
import { startAdmin, type AdminHandle } from '../../admin/admin-server.js';
import { createLogger } from '../../lib/log.js';
import type { ProxyHandle } from '../../lib/server.js';

export interface AdminClient {
  admin: AdminHandle;
  /** fetch with the bearer token (or `token` given, '' for none); JSON bodies parsed */
  call(path: string, init?: RequestInit & { token?: string }): Promise<{ status: number; headers: Headers; body: any; text: string }>;
}

export async function startTestAdmin(proxy: ProxyHandle, configPath?: string): Promise<AdminClient> {
  const admin = await startAdmin(proxy, { log: createLogger('silent'), configPath });
  if (admin === undefined) throw new Error('admin disabled in the test config');
  return {
    admin,
    async call(path, init = {}) {
      const token = init.token ?? admin.token();
      const headers = new Headers(init.headers);
      if (token !== '') headers.set('authorization', `Bearer ${token}`);
      const res = await fetch(`${admin.url}${path}`, { ...init, headers });
      const text = await res.text();
      let body: unknown = text;
      if ((res.headers.get('content-type') ?? '').startsWith('application/json')) body = JSON.parse(text);
      return { status: res.status, headers: res.headers, body, text };
    },
  };
}
