// The admin HTTP(S) server: its own port, loopback by default, HTTPS (TLS 1.3 preferred, the
// configured floor) when admin.certFile is set. Everything but /api/health and the page shell
// needs the bearer token. Answers are JSON; errors are `{ error: { code, message } }`.
import { readFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import { isIP } from 'node:net';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { packageRoot } from '../lib/config/load-config.js';
import type { Logger } from '../lib/log.js';
import { PROMETHEUS_CONTENT_TYPE } from '../lib/metrics/prometheus-text.js';
import type { ProxyHandle } from '../lib/server.js';
import { AdminError, adminError } from './errors.js';
import { renderMetrics } from './metrics.js';
import { peersView, rel100ResetPath, resetRel100 } from './peers.js';
import { maskedConfig, reloadConfig, validateNewConfig } from './reload.js';
import { buildStats, dialogPage, RateSampler, registrationPage } from './stats.js';
import { bearerMatches, resolveAdminToken } from './token.js';
import { resizeWorkers, workersView } from './workers.js';

export interface AdminOptions {
  log: Logger;
  /** file a body-less reload (and SIGHUP) reads */
  configPath?: string;
}

export interface AdminHandle {
  readonly url: string;
  readonly port: number;
  readonly https: boolean;
  /** the bearer token in force (configured or generated) */
  token(): string;
  close(): Promise<void>;
}

type Reply = { status?: number; type?: string; body: unknown; headers?: Record<string, string> };
type Handler = (ctx: { req: IncomingMessage; url: URL; body: () => Promise<string> }) => Promise<Reply> | Reply;
interface Route { GET?: Handler; POST?: Handler; PUT?: Handler; public?: boolean }

const MAX_BODY = 1024 * 1024;
const MAX_PAGE = 1000;
const UI_FILES: Record<string, [string, string]> = {
  '/': ['index.html', 'text/html; charset=utf-8'],
  '/index.html': ['index.html', 'text/html; charset=utf-8'],
  '/app.js': ['app.js', 'text/javascript; charset=utf-8'],
  '/style.css': ['style.css', 'text/css; charset=utf-8'],
  '/favicon.svg': ['favicon.svg', 'image/svg+xml'],
  '/favicon.ico': ['favicon.svg', 'image/svg+xml'],
};

function intParam(url: URL, name: string, def: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null || raw === '') return def;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < min || n > max) throw adminError('ADMIN_ERR_BAD_REQUEST', `${name}: got ${JSON.stringify(raw)}, must be an integer ${min}..${max}`);
  return n;
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(adminError('ADMIN_ERR_BODY_TOO_LARGE', `request body over ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

function isLoopback(address: string): boolean {
  return address === '::1' || address.startsWith('127.');
}

export async function startAdmin(proxy: ProxyHandle, opts: AdminOptions): Promise<AdminHandle | undefined> {
  const cfg = proxy.config.admin;
  if (!cfg.enabled) return undefined;
  const { log } = opts;
  const sampler = new RateSampler(proxy);
  const uiDir = join(packageRoot(), 'admin', 'ui');
  const ui = new Map(Object.entries(UI_FILES).map(([path, [file, type]]) => [path, { body: readFileSync(join(uiDir, file)), type }]));

  let tokenConfig = proxy.config.admin;
  let token = resolveAdminToken(tokenConfig.token, tokenConfig.tokenFile, log);
  const currentToken = (): string => {
    // a reload may change admin.token
    if (proxy.config.admin !== tokenConfig) {
      tokenConfig = proxy.config.admin;
      token = resolveAdminToken(tokenConfig.token, tokenConfig.tokenFile, log);
    }
    return token;
  };

  const page = (url: URL): { offset: number; limit: number } => ({
    offset: intParam(url, 'offset', 0, 0, Number.MAX_SAFE_INTEGER),
    limit: intParam(url, 'limit', 100, 1, MAX_PAGE),
  });
  const shardTimeout = (err: unknown): never => {
    throw adminError('ADMIN_ERR_SHARD_TIMEOUT', (err as Error).message);
  };
  const json = (body: unknown): Reply => ({ body });

  const routes = new Map<string, Route>([
    ['/api/health', { public: true, GET: () => json({ status: 'ok', uptimeSeconds: Math.round((Date.now() - proxy.startedAt) / 1000), workers: proxy.pool.workerThreads }) }],
    ['/api/stats', { GET: async () => json(buildStats(proxy, await proxy.shardStats().catch(shardTimeout), sampler.rates())) }],
    ['/api/workers', {
      GET: () => json(workersView(proxy)),
      PUT: async ({ body }) => json(await resizeWorkers(proxy, await body())),
      POST: async ({ body }) => json(await resizeWorkers(proxy, await body())),
    }],
    ['/api/dialogs', { GET: async ({ url }) => { const p = page(url); return json(await dialogPage(proxy, p.offset, p.limit).catch(shardTimeout)); } }],
    ['/api/registrations', { GET: ({ url }) => { const p = page(url); return json(registrationPage(proxy, p.offset, p.limit)); } }],
    ['/api/peers', {
      GET: () => json(peersView(proxy)),
    }],
    ['/api/tls', { GET: () => json({ selfSigned: proxy.tls.selfSigned, fingerprint: proxy.tls.fingerprint || null, minVersion: proxy.config.tls.minVersion }) }],
    ['/api/config', { GET: () => json(maskedConfig(proxy.config)) }],
    ['/api/config/validate', { POST: async ({ body }) => json(validateNewConfig(proxy, { text: await body(), path: opts.configPath })) }],
    ['/api/config/reload', { POST: async ({ body }) => json(await reloadConfig(proxy, { text: await body(), path: opts.configPath })) }],
    ['/metrics', {
      GET: async () => {
        const reports = await proxy.shardStats().catch(shardTimeout);
        const cps = sampler.rates().reduce((a, b) => a + b, 0);
        return { type: PROMETHEUS_CONTENT_TYPE, body: renderMetrics(proxy, reports, cps) };
      },
    }],
  ]);

  const send = (res: ServerResponse, reply: Reply): void => {
    const isText = typeof reply.body === 'string' || Buffer.isBuffer(reply.body);
    const payload = isText ? (reply.body as string | Buffer) : `${JSON.stringify(reply.body)}\n`;
    res.writeHead(reply.status ?? 200, {
      'content-type': reply.type ?? 'application/json; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      ...reply.headers,
    });
    res.end(payload);
  };

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://admin.invalid');
    const method = req.method ?? 'GET';
    const file = method === 'GET' || method === 'HEAD' ? ui.get(url.pathname) : undefined;
    if (file !== undefined) {
      send(res, { type: file.type, body: file.body, headers: { 'content-security-policy': "default-src 'self'; frame-ancestors 'none'" } });
      return;
    }
    const resetOf = rel100ResetPath(url.pathname);
    const route = routes.get(url.pathname) ?? (resetOf === undefined ? undefined : { POST: () => json(resetRel100(proxy, resetOf)) });
    if (route === undefined) throw adminError('ADMIN_ERR_NOT_FOUND', `no such resource: ${url.pathname}`);
    if (!route.public && !bearerMatches(req.headers.authorization, currentToken())) {
      throw adminError('ADMIN_ERR_UNAUTHORIZED', 'missing or wrong bearer token (Authorization: Bearer <admin token>)');
    }
    const handler = method === 'HEAD' ? route.GET : route[method as 'GET' | 'POST' | 'PUT'];
    if (handler === undefined) {
      const allow = (['GET', 'POST', 'PUT'] as const).filter((m) => route[m] !== undefined).join(', ');
      throw adminError('ADMIN_ERR_METHOD_NOT_ALLOWED', `${method} not allowed on ${url.pathname} (allowed: ${allow})`, { allow });
    }
    send(res, await handler({ req, url, body: () => readBody(req) }));
  };

  const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    handle(req, res).catch((err: unknown) => {
      const e = err instanceof AdminError ? err : adminError('ADMIN_ERR_INTERNAL', 'internal error');
      if (!(err instanceof AdminError)) log.error({ err, url: req.url }, 'admin request failed');
      const headers: Record<string, string> = {};
      if (e.code === 'ADMIN_ERR_UNAUTHORIZED') headers['www-authenticate'] = 'Bearer realm="sipshard-admin"';
      if (e.code === 'ADMIN_ERR_METHOD_NOT_ALLOWED') headers.allow = String(e.details?.allow ?? '');
      if (!res.headersSent) send(res, { status: e.status, body: e.toJSON(), headers });
      else res.destroy();
    });
  };

  const https = cfg.certFile !== '';
  const server: Server = https
    ? createHttpsServer({ cert: readFileSync(cfg.certFile), key: readFileSync(cfg.keyFile), minVersion: proxy.config.tls.minVersion, maxVersion: 'TLSv1.3' }, onRequest)
    : createHttpServer(onRequest);
  server.on('clientError', (_err, socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: cfg.address, port: cfg.port }, () => {
      server.off('error', reject);
      resolve();
    });
  });
  sampler.start();
  const port = (server.address() as AddressInfo).port;
  const host = isIP(cfg.address) === 6 ? `[${cfg.address}]` : cfg.address;
  const url = `${https ? 'https' : 'http'}://${host}:${port}`;
  if (!https && !isLoopback(cfg.address)) log.warn({ url }, 'admin API on a non-loopback address over plain HTTP: the token travels in clear; set admin.certFile/keyFile');
  log.info({ url }, 'admin API listening');
  return {
    url,
    port,
    https,
    token: currentToken,
    close: () => {
      sampler.stop();
      server.closeAllConnections();
      return new Promise((resolve) => server.close(() => resolve()));
    },
  };
}
