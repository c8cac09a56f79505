import { statfs } from 'node:fs/promises'
import { diskNearlyFull, DiskFullError, type Intake } from '@xcon/core'
import { logEvent, type Logger } from './logger.js'

/** How often free space is measured, in real time. */
const CHECK_INTERVAL_MS = 1000
/** After a commit failed for space, intake stays closed at least this long, whatever statfs says. */
const HOLD_AFTER_FAILURE_MS = 5000

/** True for the errors a write gives when the disk or LMDB's map has no room left. */
export function isSpaceError (err: unknown): boolean {
  const e = err as { code?: unknown, message?: unknown } | undefined
  return e?.code === 'ENOSPC' || e?.code === 'EDQUOT' || /MDB_MAP_FULL|No space left|ENOSPC|disk quota/i.test(String(e?.message ?? ''))
}

/**
 * Watches the free space where the store lives, as Exchange watched the MTADATA disk (9411,
 * Q181948): below `minFreeBytes`, or after a commit failed for space, intake closes: no new mail
 * from clients, the IMS or peers, while the MTA keeps delivering what it holds. Intake opens
 * again once space returns. Mail the MTA makes itself (non-delivery reports) is still taken:
 * the threshold leaves room for it.
 */
export class DiskGuard implements Intake {
  readonly isSpaceError = isSpaceError
  private closedFor: string | undefined
  private holdUntil = 0
  private timer: NodeJS.Timeout | undefined
  freeBytes: number | undefined

  constructor (private readonly dir: string, private readonly minFreeBytes: number, private readonly log: Logger) {}

  get intakeOpen (): boolean {
    return this.closedFor === undefined
  }

  /** Throws DiskFullError while intake is closed. */
  assertIntake (): void {
    if (this.closedFor !== undefined) throw new DiskFullError(this.closedFor)
  }

  async start (): Promise<void> {
    await this.check()
    this.timer = setInterval(() => { this.check().catch(() => undefined) }, CHECK_INTERVAL_MS)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
  }

  /** A write failed for want of space: close intake now. */
  failed (err: unknown): void {
    this.holdUntil = Date.now() + HOLD_AFTER_FAILURE_MS
    this.close(`a write to the store failed for want of space (${(err as Error).message})`, this.freeBytes ?? 0)
  }

  private async check (): Promise<void> {
    let free: number
    try {
      const s = await statfs(this.dir)
      free = Number(s.bavail) * Number(s.bsize)
    } catch {
      return
    }
    this.freeBytes = free
    if (free < this.minFreeBytes) this.close(`${free} bytes free where the store lives, under the ${this.minFreeBytes} the MTA keeps in reserve`, free)
    else if (this.closedFor !== undefined && Date.now() >= this.holdUntil) this.open(free)
  }

  private close (reason: string, free: number): void {
    if (this.closedFor !== undefined) { this.closedFor = reason; return }
    this.closedFor = reason
    logEvent(this.log, diskNearlyFull(free, this.minFreeBytes), { freeBytes: free, minFreeBytes: this.minFreeBytes, reason })
  }

  private open (free: number): void {
    this.closedFor = undefined
    this.log.info({ category: 'Field Engineering', freeBytes: free, minFreeBytes: this.minFreeBytes }, `disk space has returned (${free} bytes free): the MTA takes new mail again`)
  }
}
