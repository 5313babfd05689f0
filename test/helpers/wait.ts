// Polling waits for tests: a condition checked every few ms until it holds or the time is up.

/** Whether `cond` held within `ms` (checked at once, then every `everyMs`). */
export async function until(cond: () => boolean, ms: number, everyMs = 10): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, everyMs))) if (cond()) return true;
  return cond();
}

/** until(), throwing "timed out waiting for <what>" when `cond` did not hold in time. */
export async function untilOrThrow(cond: () => boolean, ms: number, what: string): Promise<void> {
  if (!(await until(cond, ms))) throw new Error(`timed out waiting for ${what}`);
}
