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
//
// --v8-pool-size=0: V8's helper threads (GC jobs, background compilation), one pool for the main
// thread and every shard. Node's default is 4 whatever the machine; 0 lets node size it to the
// CPUs it may run on less one (at least one), the rule of the shards' 'auto'. More helpers than
// spare CPUs hurt latency: a parallel scavenge waits for helpers the kernel has not scheduled,
// and at start four concurrent compile jobs take the CPUs the first calls need. On the 2-CPU
// bench machine (1 helper instead of 4), calls at 4,000/s: p99 call setup 12-16 -> 4-12 ms,
// slow calls (8 ms and more) in the first 0.5 s 298-426 -> 16-96 of ~2,000; CPU within noise
// for calls and REGISTERs (A/B 1.028 and 0.980); at 6,000/s, near that machine's limit, p99
// within its noise (bench/PERFORMANCE.md round 11).
export const PROXY_NODE_FLAGS: readonly string[] = ['--max-semi-space-size=4', '--v8-pool-size=0'];

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
