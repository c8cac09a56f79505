import type { KillAt, KillPointName } from '@xcon/core'
import type { Logger } from './logger.js'

/**
 * What the store calls at each point of the exactly-once argument: with XCON_KILL_AT set, the
 * Nth arrival at its point logs one line (written synchronously) and kills the process with
 * SIGKILL, as `kill -9` would from outside; elsewhere, and without it, nothing.
 */
export function killPoint (killAt: KillAt | undefined, log: Logger): (point: KillPointName) => void {
  if (killAt === undefined) return () => undefined
  let reached = 0
  return point => {
    if (point !== killAt.point || ++reached !== killAt.nth) return
    log.warn({ killAt: point, nth: reached }, `XCON_KILL_AT: killing this MTA at ${point} (time ${reached})`)
    process.kill(process.pid, 'SIGKILL')
  }
}
