// The node/V8 options the proxy's process runs with: `npm start` passes them, as do the bench and
// test launchers (bench/lib/proxy.ts, test/helpers/child-proxy.ts); a process started without them
// says so at start (lib/cli.ts). They cannot be set from inside: V8 sizes the heap before any of
// our code runs.
//
// --max-semi-space-size=4: the main thread's young generation. V8's default lets its semi-spaces
// grow to 16 MB each under load; the main thread keeps almost nothing of what it allocates per
// datagram, so a big young generation only holds garbage. bench:memory, 50,000 held calls ramped
// at 1,000/s, RSS at ramp end: 202-215 MB without it (3 runs), 194 MB with 4, 189 with 2, 184
// with 1. Smaller costs the main thread CPU on REGISTER load (12,000/s, 3 alternating pairs each:
// 2 dearer by 6-10%, 4 no dearer than V8's default); calls showed no cost.
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4'];

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
