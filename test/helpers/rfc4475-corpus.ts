// The RFC 4475 torture-test corpus and its manifest of verdicts (shared/conformance/rfc4475).
// Location: env RFC4475_DIR, else ../shared/conformance/rfc4475 next to the repository. When it is
// missing, a CI run fails (the conformance suite must not silently vanish) and a local run skips.
import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { packageRoot } from '../../lib/config/load-config.js';

export interface Rfc4475Case {
  file: string;
  section: string;
  title: string;
  kind: 'request' | 'response';
  verdict: 'valid' | 'reject' | 'either';
  /** the answer a strict element gives (reject), or would give (either) */
  status?: number;
  note?: string;
}

export interface Rfc4475Corpus {
  dir: string;
  cases: Rfc4475Case[];
  read(file: string): Buffer;
}

interface Reporter {
  fail(message: string): unknown;
  plan(n: number, comment?: string): unknown;
}


export function corpusDir(): string {
  // the package root, not this file's folder: compiled into dist/test/helpers (npm run fuzz) that is one level deeper
  return process.env.RFC4475_DIR ?? resolve(packageRoot(), '../shared/conformance/rfc4475');
}

/** The corpus, or undefined after failing (CI=true) or skipping (local run) when it is absent. */
export function openCorpus(t: Reporter): Rfc4475Corpus | undefined {
  const dir = corpusDir();
  const manifestPath = resolve(dir, 'manifest.json');
  if (!existsSync(manifestPath)) {
    const why = `RFC 4475 corpus not found: no ${manifestPath} (set RFC4475_DIR to the directory holding manifest.json and the .dat files)`;
    if (process.env.CI === 'true') t.fail(why);
    else t.plan(0, why); // a plan of 0 with a reason: the whole file is reported as skipped
    return undefined;
  }
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as { cases: Rfc4475Case[] };
  return { dir, cases: manifest.cases, read: (file) => readFileSync(resolve(dir, file)) };
}

/** Offset of the body: just past the first empty line (CRLF CRLF). */
export function bodyOffset(raw: Buffer): number {
  const i = raw.indexOf('\r\n\r\n');
  return i === -1 ? raw.length : i + 4;
}
