// Starts Kamailio (Debian package) in the foreground with bench/kamailio/kamailio.cfg copied to a
// temp dir that is also its working and runtime dir (pid file there): nothing goes to /var.
// Bench users become kamailio-users.cfg (an htable filled at module init) next to the config.
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { reportLog, startBounded, sleep } from './child.js';
import { freeUdpPort, waitForSip } from './net.js';
import { processTree, pssKb } from './proc.js';
import type { BenchUser, Target } from './target.js';

export const KAMAILIO = process.env.KAMAILIO ?? '/usr/sbin/kamailio';
// from dist/bench/lib when the benches run, from bench/lib when a test imports this module
const CFG = ['../../../bench/kamailio/kamailio.cfg', '../../bench/kamailio/kamailio.cfg']
  .map((rel) => fileURLToPath(new URL(rel, import.meta.url)))
  .find((path) => existsSync(path)) ?? 'bench/kamailio/kamailio.cfg';

export const kamailioInstalled = (): boolean => existsSync(KAMAILIO);

export interface KamailioOptions {
  uasPort: number;
  users?: BenchUser[];
  /** Shared memory in MB (transactions, dialogs, location); 256 ran out at 1600 calls/s. */
  shmMb?: number;
  /** REGISTERs answered through a transaction (t_newtran), as ours are; default: statelessly (sl) */
  statefulRegister?: boolean;
  maxMs: number;
}

function usersCfg(users: readonly BenchUser[]): string {
  const lines = users.map((u) => `\t$sht(pw=>${u.username}) = "${u.password}";`);
  return `event_route[htable:mod-init] {\n${lines.join('\n')}\n}\n`;
}

export async function startKamailio(o: KamailioOptions): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-kamailio-'));
  const cfg = join(dir, 'kamailio.cfg');
  copyFileSync(CFG, cfg);
  if (o.users !== undefined && o.users.length > 0) writeFileSync(join(dir, 'kamailio-users.cfg'), usersCfg(o.users));
  const port = await freeUdpPort();
  const pidFile = join(dir, 'kamailio.pid');
  const args = ['-f', cfg, '-l', `udp:127.0.0.1:${port}`, '-A', `UAS_HOSTPORT="127.0.0.1:${o.uasPort}"`,
    ...(o.statefulRegister === true ? ['-A', 'STATEFUL_REGISTER'] : []),
    '-DD', '-E', '-w', dir, '-Y', dir, '-P', pidFile, '-m', String(o.shmMb ?? 1024), '-M', '16'];
  const proc = startBounded('kamailio', KAMAILIO, args, o.maxMs, { cwd: dir, logFile: join(dir, 'kamailio.log') });
  const family = (): number[] => processTree(proc.pid);
  let known: number[] = [];
  const stop = async (): Promise<void> => {
    known = [...new Set([...known, ...family()])];
    await proc.stop(5000);
    await sleep(200);
    for (const pid of known) { // children that outlived the main process: only ours (cmdline names our cfg)
      try {
        if (readFileSync(`/proc/${pid}/cmdline`, 'latin1').includes(cfg)) process.kill(pid, 'SIGKILL');
      } catch { /* gone */ }
    }
    reportLog('kamailio', join(dir, 'kamailio.log'), /ERROR|CRITICAL|ALERT|WARNING/);
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await Promise.race([waitForSip(port, 15000), proc.exited.then((c) => { throw new Error(`kamailio exited (${c}), see ${dir}/kamailio.log`); })]);
  } catch (err) {
    await stop();
    throw err;
  }
  known = family();
  return {
    name: o.statefulRegister === true ? 'kamailio (2 children, stateful REGISTER)' : 'kamailio (2 children)',
    port,
    cpuPids: family,
    // Processes share memory (shm): PSS splits shared pages, so the sum is the family's footprint.
    memoryKb: () => family().reduce((s, p) => s + pssKb(p), 0),
    currentMemoryKb: () => family().reduce((s, p) => s + pssKb(p), 0),
    stop,
  };
}

/** The --targets list (e.g. 'kamailio,ours') without Kamailio, with a message, when it is not installed. */
export function availableTargets(list: string): string[] {
  const wanted = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (!wanted.includes('kamailio') || kamailioInstalled()) return wanted;
  console.log(`kamailio skipped: not installed (${KAMAILIO} missing; apt-get install kamailio)`);
  return wanted.filter((s) => s !== 'kamailio');
}
