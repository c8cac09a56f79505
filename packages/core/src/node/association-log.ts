import type { AssociationEnd, AssociationReport, AssociationRequest } from '../association/association.js'
import { lostConnection, noFreeControlBlocks, rpcBindFailed, socketConnectRefused } from '../events.js'
import { LOG_TAG } from '../log-schema.js'
import type { PoolKind } from '../pool/pool.events.js'
import type { FloodGate, LogSink } from '../ports.js'
import type { MtaCounters } from './mta-counters.js'

/**
 * What the MTA logs and counts of its associations, whoever owns them: 9156 when a pool has no
 * free control block, 9215 and 9318 for a failed open, 2035 for a lost association, and the log
 * line of each leaked control block.
 */
export function associationLog (log: LogSink, floods: FloodGate, counters: MtaCounters): AssociationReport {
  return {
    exhausted (kind: PoolKind, r: AssociationRequest, networkType: number, capacity: number) {
      counters.countAssociation(kind, r.direction, 'no-control-block')
      counters.event(noFreeControlBlocks(networkType, capacity), { peer: r.peer ?? null, direction: r.direction, assoc: r.assocId, pool: kind })
    },
    acquired (_kind: PoolKind, r: AssociationRequest, controlBlock: number, free: number) {
      log.debug({ category: 'Resource', assoc: r.assocId, peer: r.peer, direction: r.direction, controlBlock, free }, `control block ${controlBlock} acquired`)
    },
    bound (kind: PoolKind, r: AssociationRequest, peer: string, controlBlock: number) {
      log.info({ category: 'Interface', assoc: r.assocId, peer, direction: r.direction, controlBlock, pool: kind }, `${r.direction} ${kind === 'site' ? 'association' : 'connector association'} with ${peer} bound`)
    },
    ended (kind: PoolKind, e: AssociationEnd) {
      counters.countAssociation(kind, e.direction, e.outcome)
      const failed = e.outcome !== 'released'
      const peer = e.peer ?? 'an unknown MTA'
      const fields = { peer, assoc: e.assocId, outcome: e.outcome, pool: kind, ...(e.channel === 'site' ? {} : { connector: e.channel }) }
      if (failed && e.direction === 'outbound' && !e.wasBound) {
        // 9215 is socket error 10061, a refused connect(); a name that no longer resolves is only 9318.
        if (e.reason.includes('ECONNREFUSED')) counters.event(socketConnectRefused(e.controlBlock), fields)
        counters.event(rpcBindFailed(e.controlBlock, peer, `${e.outcome}: ${e.reason}`), fields)
      } else if (failed && e.wasBound) {
        counters.event(lostConnection(e.controlBlock, peer, `${e.outcome}: ${e.reason}`), { ...fields, direction: e.direction })
      } else if (e.outcome !== 'unauthenticated' || floods.admit('inbound associations that never bound', e.reason)) {
        // A stranger's failed attempts are logged a few a minute, then summed up (FloodLog).
        log.info({ category: 'Interface', ...fields, direction: e.direction, reason: e.reason }, `${e.direction} association with ${peer} ${failed ? `failed (${e.outcome}: ${e.reason})` : 'released'}`)
      }
      if (!e.leaked) return
      counters.leaked(kind)
      log.warn(
        // Exchange logged nothing when a control block went missing (that is the bug); xcon's tag "leak" lets the countdown be filtered: xcon logs --event leak.
        { tag: LOG_TAG.leak, category: 'Resource', controlBlock: e.controlBlock, peer, direction: e.direction, outcome: e.outcome, free: e.free, leaked: e.lost, capacity: e.capacity },
        `control block ${e.controlBlock} (network type ${e.networkType}) was not returned after the failed ${e.direction} association with ${peer} (${e.outcome}); ${e.free} of ${e.capacity} free, ${e.lost} lost`
      )
    }
  }
}
