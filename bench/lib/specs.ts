// The two load shapes: proxied calls (built-in sipp uac -> target -> built-in sipp uas via the
// '9' static route) and authenticated registrations (bench/sipp/register-auth.xml).
import { writeFileSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { StepSpec } from './load-step.js';
import type { BenchUser } from './target.js';

const REGISTER_XML = fileURLToPath(new URL('../../../bench/sipp/register-auth.xml', import.meta.url));

/** INVITE/180/200/ACK, hold, BYE/200: sipp originates INVITE, ACK, BYE (uac) and 180, 200, 200 (uas). */
export function callSpec(rate: number, durationS: number, holdMs: number, uasPort: number): StepSpec {
  return {
    rate, durationS, uasPort, messagesPerCall: 6,
    // A 180 overtaken by the 200 (UDP may reorder; Kamailio's receiver processes forward them in
    // parallel) would abort sipp's call: ignore unexpected messages instead, the call still needs its 200s.
    uacArgs: ['-sn', 'uac', '-s', '9000', '-d', String(holdMs), '-default_behaviors', 'all,-abortunexp'],
    tailS: holdMs / 1000 + 35,
    limit: Math.max(1000, Math.ceil(rate * (holdMs / 1000 + 5))),
  };
}

/** sipp -inf file for register-auth.xml: user;[authentication ...] per line. */
export function writeUsersCsv(users: readonly BenchUser[]): string {
  const path = join(mkdtempSync(join(tmpdir(), 'bench-users-')), 'users.csv');
  const lines = users.map((u) => `${u.username};[authentication username=${u.username} password=${u.password}]`);
  writeFileSync(path, `SEQUENTIAL\n${lines.join('\n')}\n`);
  return path;
}

/** REGISTER, 401, REGISTER with credentials, 200: sipp originates the two REGISTERs. */
export function registerSpec(rate: number, durationS: number, usersCsv: string, uacPort: number): StepSpec {
  return {
    rate, durationS, messagesPerCall: 2,
    uacArgs: ['-sf', REGISTER_XML, '-inf', usersCsv],
    tailS: 35,
    limit: Math.max(1000, rate * 5),
    uacPort,
  };
}

const ECHO_XML = fileURLToPath(new URL('../../../bench/sipp/echo.xml', import.meta.url));

/** Two REGISTERs each answered by an echo server (bench/floor.ts): a registration's datagrams without its SIP work. */
export function echoSpec(rate: number, durationS: number, uacPort: number): StepSpec {
  return {
    rate, durationS, messagesPerCall: 2,
    uacArgs: ['-sf', ECHO_XML],
    tailS: 5,
    limit: Math.max(1000, rate * 5),
    uacPort,
  };
}
