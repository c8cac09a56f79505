import { Association, type AssociationEnd, type AssociationOwner, type AssociationPorts } from '../association/association.js'
import { closeReason } from '../clip.js'
import type { MtaConfig } from '../config/mta-config.js'
import { CallersBindingError, ControlBlocksExhaustedError, ShuttingDownError, type XconError } from '../errors.js'
import { poolKindOf, type PoolKind } from '../pool/pool.events.js'
import { freeBlocks } from '../pool/pool.machine.js'
import type { Clock, FloodGate, LogSink } from '../ports.js'
import { CallerLimits } from './caller-limits.js'

/** Why an inbound association was turned away, for the shell to close its socket with. */
export interface InboundRefusal {
  closeCode: number
  reason: string
  /**
   * Not refused yet: every caller binding now is within its bind grace, and the oldest one's
   * runs out in this long. Ask again then, with the time waited so far (`admit`).
   */
  retryInMs?: number
}

/** What an inbound caller is told when it is not admitted: the error's close code and its message, cut to fit. */
function refusal (err: XconError, retryInMs?: number): InboundRefusal {
  return { closeCode: err.closeCode ?? 4400, reason: closeReason(err.message), ...(retryInMs === undefined ? {} : { retryInMs }) }
}

export interface InboundPorts {
  config: MtaConfig
  clock: Clock
  log: LogSink
  floods: FloodGate
  associations: Record<PoolKind, AssociationPorts>
  /** False once the MTA is closing down. */
  running: () => boolean
}

/**
 * The MTA's inbound associations, from the accepted connection to the association's end: each
 * caller gets a control block and an association that owns the connection (`admit`), and is
 * counted until it binds (CallerLimits). Callers that have proved nothing hold at most half the
 * pool; when that is full, or the pool has no free block, the oldest of them that has had the
 * bind grace gives its block to the newcomer, so slow strangers cannot shut out a real peer
 * (issue #30); while every one of them is within the grace, the newcomer is asked to wait
 * (`retryInMs`). With no control block free and none to take back, the bind is refused (9156).
 */
export class InboundAcceptance implements AssociationOwner {
  /** Inbound associations that hold a control block and have not bound yet (their callers have proved nothing). */
  readonly admission: CallerLimits<string>
  private readonly live = new Map<string, Association>()
  private count = 0

  constructor (private readonly ports: InboundPorts) {
    const { limits } = ports.config
    this.admission = new CallerLimits({ total: limits.maxUnbound, perAddress: limits.maxUnboundPerAddress, graceMs: limits.bindGraceMs })
  }

  /**
   * A caller connected on `channel` from `address`: `socket` (the shell's connection, opaque
   * here) goes to a new inbound association, or the caller gets a refusal to close it with.
   */
  admit (channel: string, address: string, socket: unknown, waitedMs = 0): InboundRefusal | undefined {
    const { config, clock, floods, log } = this.ports
    if (!this.ports.running()) return refusal(new ShuttingDownError())
    const now = clock.now()
    const room = this.admission.room(address, now)
    if (!room.ok) {
      const busy = new CallersBindingError(room.reason)
      // A real peer that met strangers within their grace waits a moment, rather than fail (a
      // failure a pre-SP4 peer might pay for with a control block); at most a bind timeout.
      if (room.retryInMs !== undefined && waitedMs + room.retryInMs <= config.timing.bindTimeoutMs) return refusal(busy, room.retryInMs)
      if (floods.admit('callers over the binding limit', address)) log.warn({ category: 'Security', address, channel, code: busy.code }, `inbound association from ${address} refused: ${busy.message}`)
      return refusal(busy)
    }
    const kind = poolKindOf(channel)
    const ports = this.ports.associations[kind]
    const pool = ports.pool.getSnapshot().context
    // A pool with no free block, some of it held by strangers that have had their grace: one gives way.
    const displace = room.displace ?? (freeBlocks(pool) > 0 ? undefined : this.admission.displaceable(now, id => this.inPool(id, kind)))
    if (displace !== undefined) this.displace(displace, address)
    const assocId = `in-${++this.count}`
    const association = new Association(ports, { assocId, direction: 'inbound', channel, socket }, this)
    this.admission.add(assocId, address, now)
    this.live.set(assocId, association)
    association.start()
    if (association.live || !this.live.has(assocId)) return undefined
    // No control block: the caller sees a failure (9156 logged with the pool's answer).
    this.live.delete(assocId)
    this.admission.remove(assocId)
    return refusal(new ControlBlocksExhaustedError(pool.networkType, pool.capacity))
  }

  /** Whether inbound association `assocId` holds a block of pool `kind`. */
  private inPool (assocId: string, kind: PoolKind): boolean {
    const a = this.live.get(assocId)
    return a !== undefined && poolKindOf(a.request.channel) === kind
  }

  notOpened (): void {
    // admit() refuses the caller itself when the pool had no block.
  }

  bound (assocId: string): void {
    this.admission.remove(assocId)
  }

  ended (end: AssociationEnd): void {
    this.admission.remove(end.assocId)
    this.live.delete(end.assocId)
  }

  /** Ends an inbound association that has not bound, for a newer caller from `newcomer`: as unauthenticated, like its bind timeout. */
  private displace (assocId: string, newcomer: string): void {
    const from = this.admission.addressOf(assocId) ?? 'unknown'
    this.admission.remove(assocId)
    const reason = `not bound within ${this.ports.config.limits.bindGraceMs} ms; its control block went to a newer caller from ${newcomer}`
    this.live.get(assocId)?.displace(reason)
    if (this.ports.floods.admit('callers displaced before they bound', from)) this.ports.log.info({ category: 'Security', assoc: assocId, address: from, newcomer }, `inbound association ${assocId} from ${from} ${reason}`)
  }

  /** Closing down: every inbound association is released (those not bound yet end as they would). */
  releaseAll (): void {
    for (const a of this.live.values()) a.release()
  }

  /** Ends at once (kill -9, or what a clean stop left): nothing more is heard of them. */
  halt (): void {
    for (const a of this.live.values()) a.halt()
    this.live.clear()
  }
}
