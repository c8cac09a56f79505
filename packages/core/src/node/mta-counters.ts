import type { MtaEvent } from '../events.js'
import { logEvent } from '../log-event.js'
import type { PoolKind } from '../pool/pool.events.js'
import type { Clock, LogSink } from '../ports.js'
import { LeakClock } from './exhaustion-estimate.js'

/**
 * What an MTA counts since its process started, for the status document and `/metrics`: events
 * logged by ID, association ends by pool, direction and outcome, clients' submissions, and when
 * the intra-site pool kept control blocks (the exhaustion estimate reads it).
 */
export class MtaCounters {
  readonly eventCounts: Record<number, number> = {}
  /** `site|outbound|refused` → ends. */
  readonly associationCounts = new Map<string, number>()
  /** Messages clients submitted (not the MTA's own reports). */
  submitted = 0
  readonly leaks = new LeakClock()

  constructor (private readonly log: LogSink, private readonly clock: Clock) {}

  /** Logs an Exchange event and counts it. */
  event (e: MtaEvent, fields: Record<string, unknown> = {}): void {
    this.eventCounts[e.eventId] = (this.eventCounts[e.eventId] ?? 0) + 1
    logEvent(this.log, e, fields)
  }

  /** One association's end (or an open with no control block). */
  countAssociation (pool: PoolKind, direction: string, outcome: string): void {
    const key = `${pool}|${direction}|${outcome}`
    this.associationCounts.set(key, (this.associationCounts.get(key) ?? 0) + 1)
  }

  /** A control block was kept: only the intra-site pool's leaks feed the estimate. */
  leaked (pool: PoolKind): void {
    if (pool === 'site') this.leaks.leaked(this.clock.now())
  }
}
