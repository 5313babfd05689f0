// TLS for sipp: Debian's sipp is built without OpenSSL (`-t l1` refuses to start), so tests put a
// small TLS bridge in front of a sipp speaking TCP. The proxy sees real TLS connections; the
// bridges record the negotiated protocol and how many connections they carried.
import { generate } from 'selfsigned';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer as createNetServer, connect as netConnect, type Server as NetServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect, createServer as createTlsServer, type TLSSocket } from 'node:tls';

export interface Bridge {
  port: number;
  /** negotiated TLS version of each connection, in order */
  protocols: string[];
  /** errors of TLS handshakes (e.g. the proxy refusing our certificate) */
  errors: string[];
  close(): Promise<void>;
}

function pipeBoth(a: Socket, b: Socket): void {
  a.pipe(b);
  b.pipe(a);
  a.on('error', () => b.destroy());
  b.on('error', () => a.destroy());
  a.on('close', () => b.destroy());
  b.on('close', () => a.destroy());
}

function listen(server: NetServer, sockets: Set<Socket>, bridge: Omit<Bridge, 'port' | 'close'>): Promise<Bridge> {
  server.on('connection', (s: Socket) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({
    ...bridge,
    port: (server.address() as { port: number }).port,
    close: () => new Promise<void>((r) => { for (const s of sockets) s.destroy(); server.close(() => r()); }),
  })));
}

/** TCP in (a sipp UAC with -t t1), TLS out to the proxy, verified against `ca`. */
export function tlsClientBridge(proxyTlsPort: number, ca: Buffer | string): Promise<Bridge> {
  const b = { protocols: [] as string[], errors: [] as string[] };
  const sockets = new Set<Socket>();
  const server = createNetServer((plain) => {
    const tls = tlsConnect({ host: '127.0.0.1', port: proxyTlsPort, ca, servername: undefined });
    sockets.add(tls);
    tls.once('secureConnect', () => b.protocols.push(tls.getProtocol() ?? '?'));
    tls.once('error', (err) => b.errors.push(err.message));
    pipeBoth(plain, tls);
  });
  return listen(server, sockets, b);
}

/** TLS in (the proxy's outbound leg, served with cert/key), TCP out to a sipp UAS with -t t1. */
export function tlsServerBridge(uasTcpPort: number, cert: string, key: string): Promise<Bridge> {
  const b = { protocols: [] as string[], errors: [] as string[] };
  const sockets = new Set<Socket>();
  const server = createTlsServer({ cert, key }, (tls: TLSSocket) => {
    b.protocols.push(tls.getProtocol() ?? '?');
    const plain = netConnect(uasTcpPort, '127.0.0.1');
    sockets.add(plain);
    pipeBoth(tls, plain);
  });
  server.on('tlsClientError', (err) => b.errors.push(err.message));
  return listen(server as unknown as NetServer, sockets, b);
}

/** A self-signed certificate for 127.0.0.1 and localhost, written to a temp dir. */
export async function testCertificate(): Promise<{ cert: string; key: string; certFile: string; keyFile: string }> {
  const pems = await generate([{ name: 'commonName', value: 'sipshard test peer' }], {
    keyType: 'ec', curve: 'P-256', algorithm: 'sha256',
    extensions: [{ name: 'subjectAltName', altNames: [{ type: 7, ip: '127.0.0.1' }, { type: 2, value: 'localhost' }] }],
  });
  const dir = mkdtempSync(join(tmpdir(), 'sipshard-cert-'));
  const certFile = join(dir, 'peer.crt');
  const keyFile = join(dir, 'peer.key');
  writeFileSync(certFile, pems.cert);
  writeFileSync(keyFile, pems.private);
  return { cert: pems.cert, key: pems.private, certFile, keyFile };
}
