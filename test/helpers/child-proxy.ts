// The real proxy as a child process (`node dist/lib/cli.js --config FILE`), for what only a whole
// process can show: kill -9 and restart, SIGTERM and the exit code. Ports are learnt from its
// 'proxy started' log line (listeners on port 0).
import { spawn, type ChildProcess } from 'node:child_process';
import { createSocket, type Socket } from 'node:dgram';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../lib/config/load-config.js';
import { PROXY_NODE_FLAGS } from '../../lib/node-flags.js';
import { testConfig, type ConfigOverrides } from './proxy-harness.js';

export interface ChildProxy {
  readonly child: ChildProcess;
  readonly udpPort: number;
  readonly tcpPort: number;
  /** JSON log lines so far */
  readonly logs: Array<Record<string, unknown>>;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

/** A config file for the child (info logs so we can read its ports); returns its path. */
export function writeChildConfig(overrides: ConfigOverrides, dir = mkdtempSync(join(tmpdir(), 'sipshard-child-'))): string {
  const config = testConfig({ log: { level: 'info' }, ...overrides });
  const path = join(dir, 'config.json');
  writeFileSync(path, JSON.stringify(config));
  return path;
}

export async function startChildProxy(configPath: string, withinMs = 10_000): Promise<ChildProxy> {
  const child = spawn(process.execPath, [...PROXY_NODE_FLAGS, join(packageRoot(), 'dist', 'lib', 'cli.js'), '--config', configPath], { stdio: ['ignore', 'pipe', 'pipe'] });
  const logs: Array<Record<string, unknown>> = [];
  let stderr = '';
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => child.once('exit', (code, signal) => r({ code, signal })));
  const started = new Promise<Array<{ transport: string; port: number }>>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`child proxy did not start within ${withinMs} ms: ${stderr}`)), withinMs);
    let buf = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => {
      buf += d;
      for (let i = buf.indexOf('\n'); i !== -1; i = buf.indexOf('\n')) {
        const line = buf.slice(0, i);
        buf = buf.slice(i + 1);
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          logs.push(rec);
          if (rec.msg === 'proxy started') { clearTimeout(timer); resolve(rec.listeners as Array<{ transport: string; port: number }>); }
        } catch { /* not JSON */ }
      }
    });
    child.stderr!.setEncoding('utf8').on('data', (d: string) => { stderr += d; });
    void exited.then((e) => { clearTimeout(timer); reject(new Error(`child proxy exited (${e.code ?? e.signal}) before starting: ${stderr}`)); });
  });
  const listeners = await started;
  return {
    child, logs, exited,
    udpPort: listeners.find((l) => l.transport === 'udp')?.port ?? 0,
    tcpPort: listeners.find((l) => l.transport === 'tcp')?.port ?? 0,
  };
}

/** A loopback UDP socket that collects every datagram it receives. */
export class UdpPeer {
  readonly received: string[] = [];
  private waiters: Array<() => void> = [];
  private constructor(readonly sock: Socket) {
    sock.on('message', (d: Buffer) => {
      this.received.push(d.toString('latin1'));
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async open(address = '127.0.0.1'): Promise<UdpPeer> {
    const s = createSocket('udp4');
    await new Promise<void>((r) => s.bind(0, address, r));
    return new UdpPeer(s);
  }

  get port(): number {
    return this.sock.address().port;
  }

  send(text: string, port: number, address = '127.0.0.1'): void {
    this.sock.send(text.replace(/\r?\n/g, '\r\n'), port, address);
  }

  /** Wait until `pred` holds for the messages received so far (rejects after `ms`). */
  async until(pred: (received: string[]) => boolean, ms = 5000): Promise<void> {
    const deadline = Date.now() + ms;
    while (!pred(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out; received ${this.received.length} messages`);
      await new Promise<void>((r) => {
        const t = setTimeout(r, left);
        this.waiters.push(() => { clearTimeout(t); r(); });
      });
    }
  }

  close(): void {
    this.sock.close();
  }
}
