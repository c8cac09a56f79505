/** Time as the queues see it; injected so that tests can replace it. */
export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => NodeJS.Timeout
  clearTimeout: (t: NodeJS.Timeout) => void
}

export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (t) => clearTimeout(t)
}
