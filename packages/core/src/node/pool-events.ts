import { lostConnection, noFreeControlBlocks, rpcBindFailed, socketConnectRefused, type MtaEvent } from '../events.js'
import { LOG_TAG } from '../log-schema.js'
import type { PoolEmitted } from '../pool/pool.events.js'
import type { FloodGate, LogSink } from '../ports.js'

/** The intra-site pool (network type 5, the one that leaks) or the connector pool (network type 1). */
export type PoolKind = 'site' | 'connector'

/** An outbound queue, as the news of its associations reaches it. */
export interface AssociationListener {
  onExhausted: (assocId: string) => void
  /** `link`: the bound association's outbound link, from the transport through the pool. */
  onBound: (assocId: string, link: unknown) => void
  onEnded: (assocId: string, wasBound: boolean, failed: boolean, reason: string) => void
}

/** What the pools' events need of the MTA. */
export interface PoolEventHost {
  readonly log: LogSink
  readonly queues: ReadonlyMap<string, AssociationListener>
  readonly admission: { remove: (assocId: string) => void }
  readonly opens: Record<PoolKind, { settled: (assocId: string) => void }>
  readonly floods: FloodGate
  event: (e: MtaEvent, fields?: Record<string, unknown>) => void
  /** Counts one association's end (or an open with no control block) for the metrics. */
  countAssociation: (pool: PoolKind, direction: string, outcome: string) => void
  /** A control block of the intra-site pool was kept: the leak clock hears of it. */
  leaked: (pool: PoolKind) => void
}

/**
 * What the MTA makes of its pools' events: the Exchange events (9156 when a pool has no free
 * control block, 9215 and 9318 for a failed open, 2035 for a lost association), the log lines of
 * leaked control blocks, and the news each outbound queue needs about its associations.
 */
export function onPoolEvent (mta: PoolEventHost, kind: PoolKind, e: PoolEmitted): void {
  const channel = e.channel
  const queue = e.direction !== 'outbound' ? undefined : channel === 'site' ? mta.queues.get(`server:${e.peer ?? ''}`) : mta.queues.get(`connector:${channel}`)
  switch (e.type) {
    case 'cb.exhausted':
      mta.countAssociation(kind, e.direction, 'no-control-block')
      mta.event(noFreeControlBlocks(e.networkType, e.capacity), { peer: e.peer ?? null, direction: e.direction, assoc: e.assocId, pool: kind })
      mta.opens[kind].settled(e.assocId)
      queue?.onExhausted(e.assocId)
      break
    case 'cb.refused':
      mta.opens[kind].settled(e.assocId)
      queue?.onExhausted(e.assocId)
      break
    case 'cb.acquired':
      mta.log.debug({ category: 'Resource', assoc: e.assocId, peer: e.peer, direction: e.direction, controlBlock: e.controlBlock, free: e.free }, `control block ${e.controlBlock} acquired`)
      break
    case 'assoc.bound':
      mta.admission.remove(e.assocId)
      mta.opens[kind].settled(e.assocId)
      mta.log.info({ category: 'Interface', assoc: e.assocId, peer: e.peer, direction: e.direction, controlBlock: e.controlBlock, pool: kind }, `${e.direction} ${kind === 'site' ? 'association' : 'connector association'} with ${e.peer} bound`)
      queue?.onBound(e.assocId, e.link)
      break
    case 'assoc.ended': {
      mta.admission.remove(e.assocId)
      mta.opens[kind].settled(e.assocId)
      mta.countAssociation(kind, e.direction, e.outcome)
      const failed = e.outcome !== 'released'
      const peer = e.peer ?? 'an unknown MTA'
      const fields = { peer, assoc: e.assocId, outcome: e.outcome, pool: kind, ...(channel === 'site' ? {} : { connector: channel }) }
      if (failed && e.direction === 'outbound' && !e.wasBound) {
        // 9215 is socket error 10061, a refused connect(); a name that no longer resolves is only 9318.
        if (e.reason.includes('ECONNREFUSED')) mta.event(socketConnectRefused(e.controlBlock), fields)
        mta.event(rpcBindFailed(e.controlBlock, peer, `${e.outcome}: ${e.reason}`), fields)
      } else if (failed && e.wasBound) {
        mta.event(lostConnection(e.controlBlock, peer, `${e.outcome}: ${e.reason}`), { ...fields, direction: e.direction })
      } else if (e.outcome !== 'unauthenticated' || mta.floods.admit('inbound associations that never bound', e.reason)) {
        // A stranger's failed attempts are logged a few a minute, then summed up (FloodLog).
        mta.log.info({ category: 'Interface', ...fields, direction: e.direction, reason: e.reason }, `${e.direction} association with ${peer} ${failed ? `failed (${e.outcome}: ${e.reason})` : 'released'}`)
      }
      if (e.leaked) {
        mta.leaked(kind)
        mta.log.warn(
          // Exchange logged nothing when a control block went missing (that is the bug); xcon's tag "leak" lets the countdown be filtered: xcon logs --event leak.
          { tag: LOG_TAG.leak, category: 'Resource', controlBlock: e.controlBlock, peer, direction: e.direction, outcome: e.outcome, free: e.free, leaked: e.lost, capacity: e.capacity },
          `control block ${e.controlBlock} (network type ${e.networkType}) was not returned after the failed ${e.direction} association with ${peer} (${e.outcome}); ${e.free} of ${e.capacity} free, ${e.lost} lost`
        )
      }
      queue?.onEnded(e.assocId, e.wasBound, failed, `${e.outcome}: ${e.reason}`)
      break
    }
  }
}
