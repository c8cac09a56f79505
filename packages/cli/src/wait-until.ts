export interface WaitOptions {
  timeoutMs: number
  /** How long between two checks (100 ms). */
  intervalMs?: number
  /** Told each error a check threw, which counted as "not yet": a caller that explains a timeout names the last one. */
  failed?: (err: unknown) => void
}

/**
 * The one polling loop of the CLI, its tests and its benchmarks: asks `check` until it gives
 * something other than undefined, null or false, and returns that, or undefined once `timeoutMs`
 * has passed, leaving what a timeout means to the caller. A check that throws has not yet
 * succeeded (an MTA starting up refuses a request); a check that can tell the wait is hopeless
 * (the process exited) returns a value saying so, and the caller reads it.
 */
export async function waitUntil<T> (check: () => T | Promise<T>, opts: WaitOptions): Promise<NonNullable<T> | undefined> {
  const deadline = Date.now() + opts.timeoutMs
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined && v !== null && v !== false) return v as NonNullable<T>
    } catch (err) {
      opts.failed?.(err)
    }
    if (Date.now() >= deadline) return undefined
    await new Promise(resolve => setTimeout(resolve, Math.min(opts.intervalMs ?? 100, Math.max(1, deadline - Date.now()))))
  }
}
