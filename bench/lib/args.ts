// Command lines of the bench scripts: --help (or -h) prints the script's usage and exits 0; an
// unknown or malformed option prints what was wrong and the usage and exits 2, never a stack trace.
import { parseArgs, type ParseArgsConfig } from 'node:util';

/** When the command line asks for help: the usage printed, exit 0. */
export function exitOnHelp(usage: string, argv: readonly string[] = process.argv.slice(2)): void {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`${usage.trim()}\n`);
    process.exit(0);
  }
}

/** parseArgs for a bench script, with --help and one-line errors. */
export function parseBenchArgs<T extends ParseArgsConfig>(usage: string, config: T): ReturnType<typeof parseArgs<T>> {
  exitOnHelp(usage, config.args ?? process.argv.slice(2));
  return orUsage(usage, () => parseArgs(config));
}

/** fn's result; when it throws (a value read from the command line is wrong): its message and the usage, exit 2. */
export function orUsage<T>(usage: string, fn: () => T): T {
  try {
    return fn();
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n\n${usage.trim()}\n`);
    process.exit(2);
  }
}

/** The numeric positional argument at `i` (default when absent); anything else exits 2 with the usage. */
export function positionalNumber(usage: string, i: number, fallback: number, argv: readonly string[] = process.argv.slice(2)): number {
  const text = argv[i];
  if (text === undefined) return fallback;
  const n = Number(text);
  if (text.trim() === '' || !Number.isFinite(n) || n < 0) {
    process.stderr.write(`argument ${i + 1} must be a non-negative number, got '${text}'\n\n${usage.trim()}\n`);
    process.exit(2);
  }
  return n;
}

/** `value` when it is one of `allowed`; otherwise throws what was wrong (for orUsage). */
export function oneOf<T extends string>(name: string, value: string, allowed: readonly T[]): T {
  if ((allowed as readonly string[]).includes(value)) return value as T;
  throw new Error(`${name}: got "${value}", allowed: ${allowed.join(', ')}`);
}
