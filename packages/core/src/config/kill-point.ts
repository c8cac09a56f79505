import { InvalidConfigError } from '../errors.js'

/**
 * The points of the exactly-once argument (docs/protocol.md) where `XCON_KILL_AT=POINT[:N]` makes
 * an MTA kill itself (SIGKILL), the Nth time it gets there: for crash tests and chaos runs that
 * want a kill -9 at one exact place rather than somewhere.
 * - `mid-transfer`: the receiver has written half of a transfer's messages in its transaction, not committed it.
 * - `after-commit`: the receiver's transaction is committed and flushed; its acknowledgement is not sent.
 * - `after-ack`: the sender has the acknowledgement; the removal from its queue has not begun.
 * - `mid-compaction`: an idle store's compacted copy is written; it has not replaced the store's file.
 * - `after-compaction`: the copy has replaced the file; the store is not open again.
 */
export const KILL_POINTS = ['mid-transfer', 'after-commit', 'after-ack', 'mid-compaction', 'after-compaction'] as const
export type KillPointName = typeof KILL_POINTS[number]
export interface KillAt { point: KillPointName, nth: number }

/** Parses XCON_KILL_AT; undefined when unset. */
export function parseKillAt (raw: string | undefined): KillAt | undefined {
  if (raw === undefined || raw === '') return undefined
  const [point, nth = '1', ...rest] = raw.split(':')
  const n = Number(nth)
  if (!KILL_POINTS.includes(point as KillPointName) || rest.length > 0 || !Number.isInteger(n) || n < 1) {
    throw new InvalidConfigError('XCON_KILL_AT', `expected ${KILL_POINTS.join(', ')} and an optional :N (the Nth time), got "${raw.slice(0, 60)}"`)
  }
  return { point: point as KillPointName, nth: n }
}
