// The admin bearer token: the configured one, or one generated on first start and kept in a file
// only the proxy's user can read. Compared in constant time (no early exit on the first
// differing byte, and no length leak: both sides are hashed to 32 bytes first).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import type { Logger } from '../lib/log.js';

const MIN_FILE_TOKEN = 16;

/** `admin.token`, or the content of `tokenFile` (created with a random token when missing). */
export function resolveAdminToken(token: string, tokenFile: string, log: Logger): string {
  if (token !== '') return token;
  if (existsSync(tokenFile)) {
    const stored = readFileSync(tokenFile, 'utf8').trim();
    if (stored.length >= MIN_FILE_TOKEN) return stored;
    log.warn({ tokenFile }, 'admin token file too short; writing a new token');
  }
  const fresh = randomBytes(32).toString('base64url');
  mkdirSync(dirname(tokenFile), { recursive: true });
  writeFileSync(tokenFile, `${fresh}\n`, { mode: 0o600 });
  log.warn({ tokenFile }, 'generated an admin API token (send it as "Authorization: Bearer <token>")');
  return fresh;
}

const digest = (s: string): Buffer => createHash('sha256').update(s).digest();

/** Whether an Authorization header carries `Bearer <expected>`. */
export function bearerMatches(header: string | undefined, expected: string): boolean {
  const m = header === undefined ? null : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header);
  // hash even when absent so a missing header takes as long as a wrong one
  const ok = timingSafeEqual(digest(m?.[1] ?? ''), digest(expected));
  return m !== null && ok;
}
