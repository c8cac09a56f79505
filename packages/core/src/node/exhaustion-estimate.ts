/**
 * Leaked control blocks of one pool over time, and what they say about the next 9156. Exchange
 * had no such counter (the leak was silent: KB Q260167); this is the number an SRE alerts on.
 */
export class LeakClock {
  /** When the most recent leaks happened (real ms), oldest first; a bounded window. */
  private readonly times: number[] = []

  constructor (private readonly keep = 256) {}

  leaked (at: number): void {
    this.times.push(at)
    if (this.times.length > this.keep) this.times.shift()
  }

  /**
   * Seconds of MTA time until no control block is free, at the leak rate of the last `windowMs`
   * (real ms): `free` blocks divided by leaks per second, times the time scale. Undefined while
   * nothing leaked in the window (no leak, an SP4 build, or the leak stopped): no estimate, no series.
   */
  secondsToExhaustion (now: number, windowMs: number, free: number, timeScale: number): number | undefined {
    let n = 0
    for (let i = this.times.length - 1; i >= 0 && this.times[i]! > now - windowMs; i--) n++
    if (n === 0) return undefined
    if (free <= 0) return 0
    const perMs = n / windowMs
    return (free / perMs) * timeScale / 1000
  }
}

/**
 * The window the estimate reads: twelve open intervals (2 h of MTA time at Exchange's 600 s),
 * long enough to hold several failed retries of a dead peer, short enough to follow a change.
 */
export const LEAK_RATE_WINDOW_OPEN_INTERVALS = 12
