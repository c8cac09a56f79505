import type { Logger } from './logger.js'

/** Lines of one kind logged in full per interval before the rest are only counted. Design choice. */
const BURST = 5
const INTERVAL_MS = 60_000

/**
 * Rate-limits what strangers make the MTA log: the first few of each kind per minute are logged
 * as usual; the rest are counted, and one summary line per kind says how many there were. What
 * a caller that never proved the site secret does must not be able to fill the disk with log.
 */
export class FloodLog {
  private readonly kinds = new Map<string, { logged: number, suppressed: number, last: string }>()
  private readonly timer: NodeJS.Timeout

  constructor (private readonly log: Logger) {
    this.timer = setInterval(() => this.flush(), INTERVAL_MS)
    this.timer.unref()
  }

  /** True when this occurrence should be logged in full; false when it is only counted. */
  admit (kind: string, detail: string): boolean {
    let k = this.kinds.get(kind)
    if (k === undefined) { k = { logged: 0, suppressed: 0, last: '' }; this.kinds.set(kind, k) }
    k.last = detail
    if (k.logged < BURST) { k.logged++; return true }
    k.suppressed++
    return false
  }

  /** Writes one summary line per kind that had more than its burst, and starts a new interval. */
  flush (): void {
    for (const [kind, k] of this.kinds) {
      if (k.suppressed > 0) {
        this.log.warn({ category: 'Security', flood: kind, suppressed: k.suppressed, last: k.last }, `${k.suppressed} more ${kind} in the last ${INTERVAL_MS / 1000} s, not logged one by one (last: ${k.last})`)
      }
    }
    this.kinds.clear()
  }

  close (): void {
    clearInterval(this.timer)
    this.flush()
  }
}
