import { statSync, statfsSync } from 'node:fs'
import { join } from 'node:path'
import { statfs } from 'node:fs/promises'
import { diskNearlyFull, DiskFullError, type Intake } from '@xcon/core'
import { logEvent, type Logger } from './logger.js'

/** How often free space is measured, in real time (it is also estimated between two looks). */
const CHECK_INTERVAL_MS = 1000
/** After a commit failed for space, intake stays closed at least this long, whatever statfs says. */
const HOLD_AFTER_FAILURE_MS = 5000
/**
 * Intake opens again only with this much more than the reserve free, so that a disk hovering at
 * the threshold does not log 9411 every second (a design choice: Exchange's documentation gives
 * no figure).
 */
const REOPEN_MARGIN_BYTES = 1024 * 1024
/**
 * A write that fails with less than this free failed for space, whatever errno the store gives:
 * LMDB reports a short write on a full tmpfs as EIO.
 */
const SPACE_SLACK_BYTES = 1024 * 1024

/**
 * At most what a transaction of `records` records holding `bytes` of content takes on disk: LMDB
 * writes each value in pages of its own (4 KiB each) and copies the B-tree pages a transaction
 * touches, and may not reuse freed pages until readers move on. Twice the content, a page per
 * record and 64 KiB per transaction is a bound, not a measurement: the reserve absorbs the rest.
 */
export function bytesOnDisk (records: number, bytes: number): number {
  return 2 * bytes + 4096 * records + 64 * 1024
}

/** The bytes an unprivileged writer may still use, from a statfs answer. */
/**
 * A file in the store's directory that stands for other programs' data on the same disk: its
 * apparent size counts as used space. `xcon gameday` fills a disk this way for its disk-full
 * incident, with a sparse file that takes no real space; the storage team "frees" it by removing
 * the file. Absent, it counts for nothing.
 */
export const DISK_BALLAST_FILE = 'disk-ballast'

function freeOf (s: { bavail: number | bigint, bsize: number | bigint }): number {
  return Number(s.bavail) * Number(s.bsize)
}

/** True for the errors a write gives when the disk or LMDB's map has no room left (also in a StoreFailedError's cause). */
export function isSpaceError (err: unknown): boolean {
  for (let e = err as { code?: unknown, message?: unknown, cause?: unknown } | undefined, depth = 0; e !== undefined && e !== null && depth < 4; e = e.cause as typeof e, depth++) {
    if (e.code === 'ENOSPC' || e.code === 'EDQUOT' || e.code === 28 || e.code === 122) return true
    if (/MDB_MAP_FULL|No space left|ENOSPC|disk quota/i.test(String(e.message ?? ''))) return true
  }
  return false
}

/**
 * Watches the free space where the store lives, as Exchange watched the MTADATA disk (9411,
 * Q181948): below `minFreeBytes`, or after a commit failed for space, intake closes: no new mail
 * from clients, the IMS or peers, while the MTA keeps delivering what it holds. Intake opens
 * again once space returns. Mail the MTA makes itself (non-delivery reports) is still taken:
 * the threshold leaves room for it.
 *
 * Free space is measured once a second, and in between it is estimated: every intake commit
 * first asks for the room it needs (`assertRoom`), so a fast intake cannot pass the threshold
 * between two looks. When the estimate runs short, the disk is measured at once.
 */
export class DiskGuard implements Intake {
  private closedFor: string | undefined
  private holdUntil = 0
  private timer: NodeJS.Timeout | undefined
  /** Free bytes at the last look. */
  freeBytes: number | undefined
  /** What intake commits may have written since the last look, by bytesOnDisk's bound. */
  private spent = 0

  constructor (private readonly dir: string, private readonly minFreeBytes: number, private readonly log: Logger) {}

  get intakeOpen (): boolean {
    return this.closedFor === undefined
  }

  /**
   * Throws DiskFullError while intake is closed, or when a commit of `records` records with
   * `bytes` of content would take the disk under the reserve; intake then closes (9411).
   */
  assertRoom (records: number, bytes: number): void {
    if (this.closedFor !== undefined) throw new DiskFullError(this.closedFor)
    const need = bytesOnDisk(records, bytes)
    if (this.freeBytes !== undefined && this.freeBytes - this.spent - need >= this.minFreeBytes) { this.spent += need; return }
    const free = this.measureNow()
    if (free === undefined || free - need >= this.minFreeBytes) { this.spent += need; return }
    this.close(`${free} bytes free where the store lives; ${records} more records need up to ${need}, and the MTA keeps ${this.minFreeBytes} in reserve`, free)
    throw new DiskFullError(this.closedFor!)
  }

  async start (): Promise<void> {
    await this.check()
    this.timer = setInterval(() => { this.check().catch(() => undefined) }, CHECK_INTERVAL_MS)
    this.timer.unref()
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
  }

  /**
   * A write to the store failed. Returns true when it failed for want of space: its error says
   * so, or the disk, measured now, is all but full. Intake then closes (9411) for at least
   * HOLD_AFTER_FAILURE_MS.
   */
  writeFailed (err: unknown): boolean {
    const free = this.measureNow()
    if (!isSpaceError(err) && (free === undefined || free >= Math.max(this.minFreeBytes, SPACE_SLACK_BYTES))) return false
    this.holdUntil = Date.now() + HOLD_AFTER_FAILURE_MS
    this.close(`a write to the store failed for want of space (${(err as Error).message})`, free ?? 0)
    return true
  }

  /** The other programs' data the ballast file stands for (DISK_BALLAST_FILE). */
  private ballast (): number {
    try { return statSync(join(this.dir, DISK_BALLAST_FILE)).size } catch { return 0 }
  }

  /** statfs at once, for the moments that cannot wait for the next look. */
  private measureNow (): number | undefined {
    try {
      this.freeBytes = Math.max(0, freeOf(statfsSync(this.dir)) - this.ballast())
      this.spent = 0
    } catch { /* the last look stands */ }
    return this.freeBytes
  }

  private async check (): Promise<void> {
    const spentBefore = this.spent
    let free: number
    try {
      free = Math.max(0, freeOf(await statfs(this.dir)) - this.ballast())
    } catch {
      return
    }
    this.freeBytes = free
    // What was committed while statfs ran may not be in its figure: it stays counted.
    this.spent = Math.max(0, this.spent - spentBefore)
    if (free < this.minFreeBytes) this.close(`${free} bytes free where the store lives, under the ${this.minFreeBytes} the MTA keeps in reserve`, free)
    else if (this.closedFor !== undefined && Date.now() >= this.holdUntil && free >= this.minFreeBytes + REOPEN_MARGIN_BYTES) this.open(free)
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
