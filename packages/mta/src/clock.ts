import type { Clock as CoreClock } from '@xcon/core'

/** Time as the IMS queue sees it; injected so that tests can replace it. */
export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => NodeJS.Timeout
  clearTimeout: (t: NodeJS.Timeout) => void
}

/** Real time, for the MTA process: both the IMS's Clock and core's. */
export const systemClock: Clock & CoreClock = {
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number) => setTimeout(fn, ms),
  clearTimeout: (t: unknown) => { clearTimeout(t as NodeJS.Timeout) }
}
