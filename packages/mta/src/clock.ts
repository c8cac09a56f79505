import type { Clock } from '@xcon/core'

/** Real time, for the MTA process (the simulator gives its MTAs a virtual clock instead). */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (t: unknown) => { clearTimeout(t as NodeJS.Timeout) }
}
