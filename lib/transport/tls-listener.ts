// SIP over TLS (RFC 3261 26.2, RFC 5630): the certificate the listeners serve, the tls.Server that
// plugs into TcpListener, and the options of outbound connections. TLS 1.3 is offered and wins
// whenever the peer has it (Node negotiates the highest common version); `minVersion` is the floor.
import { X509Certificate } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { isIP } from 'node:net';
import { join } from 'node:path';
import { createServer, type ConnectionOptions, type SecureVersion, type Server, type TlsOptions } from 'node:tls';
import { generate } from 'selfsigned';
import { createError } from '../errors.js';
import type { ListenerConfig, TransportLogger } from './types.js';

export interface TlsSettingsConfig {
  certFile: string;
  keyFile: string;
  caFile: string;
  minVersion: SecureVersion;
  verifyPeers: boolean;
  requireClientCert: boolean;
  selfSignedDir: string;
}

/** What the transport manager needs: options for the listeners' tls.Server and for tls.connect. */
export interface TlsSettings {
  server: TlsOptions;
  client: ConnectionOptions;
  /** the certificate was generated here, not configured (never trusted for outbound verification) */
  selfSigned: boolean;
  /** SHA-256 fingerprint of the served certificate, for logs and the admin API */
  fingerprint: string;
}

const SELF_SIGNED_DAYS = 825;
const RENEW_BEFORE_MS = 7 * 86_400_000;

function readPem(path: string, what: string): Buffer {
  try {
    return readFileSync(path);
  } catch (err) {
    throw createError('SIP_ERR_CONFIG_FILE', `cannot read ${what} ${path}: ${(err as Error).message}`);
  }
}

/** Host names and addresses the generated certificate names: loopback, this host, the listeners. */
function selfSignedNames(listeners: readonly ListenerConfig[]): { ips: string[]; dns: string[] } {
  const ips = new Set(['127.0.0.1', '::1']);
  for (const l of listeners) if (l.address !== '0.0.0.0' && l.address !== '::') ips.add(l.address);
  return { ips: [...ips], dns: [...new Set(['localhost', hostname()])] };
}

function usable(certPem: Buffer): boolean {
  try {
    return new Date(new X509Certificate(certPem).validTo).getTime() - Date.now() > RENEW_BEFORE_MS;
  } catch {
    return false;
  }
}

/** The self-signed pair in `dir`, generated (EC P-256) when missing or about to expire. */
export async function selfSignedPair(dir: string, listeners: readonly ListenerConfig[], log: TransportLogger): Promise<{ cert: Buffer; key: Buffer }> {
  const certPath = join(dir, 'self-signed.crt');
  const keyPath = join(dir, 'self-signed.key');
  if (existsSync(certPath) && existsSync(keyPath)) {
    const cert = readFileSync(certPath);
    if (usable(cert)) return { cert, key: readFileSync(keyPath) };
  }
  const { ips, dns } = selfSignedNames(listeners);
  const pems = await generate([{ name: 'commonName', value: 'sipshard self-signed' }], {
    keyType: 'ec',
    curve: 'P-256',
    algorithm: 'sha256',
    notAfterDate: new Date(Date.now() + SELF_SIGNED_DAYS * 86_400_000),
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [...ips.map((ip) => ({ type: 7 as const, ip })), ...dns.map((value) => ({ type: 2 as const, value }))] },
    ],
  });
  mkdirSync(dir, { recursive: true });
  writeFileSync(keyPath, pems.private, { mode: 0o600 });
  writeFileSync(certPath, pems.cert);
  log.warn({ cert: certPath, names: [...ips, ...dns] }, 'generated a self-signed TLS certificate; configure tls.certFile/keyFile to serve a real one');
  return { cert: Buffer.from(pems.cert), key: Buffer.from(pems.private) };
}

/**
 * TLS settings for the SIP listeners and outbound connections: the configured certificate, or a
 * self-signed one when none is configured. Undefined when there is no TLS listener and no
 * certificate (outbound TLS then still works, verified against caFile or the system CAs).
 */
export async function loadTlsSettings(cfg: TlsSettingsConfig, listeners: readonly ListenerConfig[], log: TransportLogger): Promise<TlsSettings> {
  const configured = cfg.certFile !== '';
  const tlsListeners = listeners.filter((l) => l.transport === 'tls');
  const pair = configured
    ? { cert: readPem(cfg.certFile, 'tls.certFile'), key: readPem(cfg.keyFile, 'tls.keyFile') }
    : tlsListeners.length > 0 ? await selfSignedPair(cfg.selfSignedDir, tlsListeners, log) : undefined;
  const ca = cfg.caFile === '' ? undefined : readPem(cfg.caFile, 'tls.caFile');
  let fingerprint = '';
  if (pair !== undefined) {
    try {
      fingerprint = new X509Certificate(pair.cert).fingerprint256;
    } catch (err) {
      throw createError('SIP_ERR_CONFIG', `tls.certFile ${cfg.certFile}: not a PEM certificate (${(err as Error).message})`);
    }
  }
  const versions = { minVersion: cfg.minVersion, maxVersion: 'TLSv1.3' as const };
  const server: TlsOptions = {
    ...versions,
    ...pair,
    // mutual TLS: only clients with a certificate caFile (or the system CAs) verifies
    requestCert: cfg.requireClientCert,
    rejectUnauthorized: cfg.requireClientCert,
    ...(ca === undefined ? {} : { ca }),
  };
  // outbound: present our certificate only when the operator configured one; trust only caFile or
  // the system CAs, never the self-signed certificate
  const client: ConnectionOptions = {
    ...versions,
    rejectUnauthorized: cfg.verifyPeers,
    ...(configured ? pair : {}),
    ...(ca === undefined ? {} : { ca }),
  };
  return { server, client, selfSigned: pair !== undefined && !configured, fingerprint };
}

/** A tls.Server for one listener; TcpListener accepts its 'secureConnection' sockets. */
export function createTlsServer(settings: TlsSettings, onHandshakeError: (err: Error, remoteAddress: string | undefined) => void): Server {
  if (settings.server.cert === undefined) throw createError('SIP_ERR_CONFIG', 'tls listener without a certificate');
  const server = createServer({ ...settings.server, noDelay: true } as TlsOptions);
  // a failed handshake (old TLS version, bad client certificate, plain TCP) never reaches the framer
  server.on('tlsClientError', (err, socket) => onHandshakeError(err, socket.remoteAddress));
  return server;
}

/** tls.connect options for a peer: SNI and verification against its host name when we know one. */
export function connectOptions(settings: TlsSettings | undefined, host: string | undefined): ConnectionOptions {
  const base: ConnectionOptions = settings?.client ?? { minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', rejectUnauthorized: true };
  // RFC 5922: the identity checked is the host of the URI we resolved; SNI must not be an IP address
  return host !== undefined && isIP(host) === 0 ? { ...base, servername: host } : base;
}
