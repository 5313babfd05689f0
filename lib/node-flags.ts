// The node/V8 options the proxy's process runs with: `npm start` passes them, as do the bench and
// test launchers (bench/lib/proxy.ts, test/helpers/child-proxy.ts); a process started without them
// says so at start (lib/cli.ts). They cannot be set from inside: V8 sizes the heap before any of
// our code runs.
//
// --max-semi-space-size=2: the main thread's young generation. V8's default lets its semi-spaces
// grow to 16 MB each under load; the main thread keeps almost nothing of what it allocates per
// datagram, so a big young generation only holds garbage. bench:memory, 50,000 held calls ramped
// at 1,000/s, RSS at ramp end: 202-215 MB without it (3 runs), 189 MB with 2, 194 with 4, 184
// with 1; CPU per call and per registration showed no cost at 2 (1 looked a little dearer for
// REGISTER). The shards size theirs through resourceLimits (shard.youngGenerationMb).
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=2'];

/** Those of PROXY_NODE_FLAGS (by option name) set neither on the command line nor in NODE_OPTIONS. */
export function missingProxyFlags(execArgv: readonly string[], nodeOptions: string | undefined): string[] {
  const given = [...execArgv, ...(nodeOptions ?? '').split(/\s+/)].map(optionName);
  return PROXY_NODE_FLAGS.filter((f) => !given.includes(optionName(f)));
}

/** '--max-semi-space-size=1' -> '--max-semi-space-size' (V8 takes '_' for '-' too) */
function optionName(flag: string): string {
  const eq = flag.indexOf('=');
  return (eq === -1 ? flag : flag.slice(0, eq)).replace(/_/g, '-');
}
