import type { Actor } from 'xstate'
import type { MtaStatusDocument, SmtpQueueStatus } from '../admin/admin-contract.js'
import { BUILDS } from '../builds.js'
import type { MtaConfig } from '../config/mta-config.js'
import { freeBlocks, type poolMachine } from '../pool/pool.machine.js'
import type { PeerQueue } from '../queue/peer-queue.js'
import type { StoreCheck, StoreCounters } from '../ports.js'
import type { MtaCounters } from './mta-counters.js'
import type { MtaState } from './submission.js'

/** What the status document is made of: the MTA's parts, each read once per request. */
export interface StatusSource {
  readonly config: MtaConfig
  readonly state: MtaState
  readonly port: number | undefined
  readonly startedAt: number
  /** The process id the document names (the simulator's MTAs share one process). */
  readonly pid: number
  readonly clock: { now: () => number }
  readonly pool: Actor<typeof poolMachine>
  readonly connectorPool: Actor<typeof poolMachine>
  readonly queues: ReadonlyMap<string, PeerQueue>
  readonly ims: { listener: { port: number | undefined }, queue: { status: () => SmtpQueueStatus } } | undefined
  readonly disk: { intakeOpen: boolean, freeBytes: number | undefined }
  readonly inbound: { admission: { size: number } }
  readonly opensWaiting: number
  readonly storeCheck: StoreCheck | undefined
  readonly store: { counters: StoreCounters }
  readonly counters: Pick<MtaCounters, 'eventCounts'>
  secondsToExhaustion: () => number | undefined
}

/** The `GET /status` document of an MTA (core's admin contract; the names are a contract with users too: docs/configuration.md). */
export function mtaStatus (mta: StatusSource): MtaStatusDocument {
  const ctx = mta.pool.getSnapshot().context
  const cctx = mta.connectorPool.getSnapshot().context
  const held = [...ctx.held.values(), ...cctx.held.values()]
  const byKind: Record<string, number> = {}
  for (const b of ctx.leaked) byKind[b.kind] = (byKind[b.kind] ?? 0) + 1
  const queues = [...mta.queues.values()]
  return {
    name: mta.config.server.name,
    site: mta.config.site.name,
    build: mta.config.server.build,
    servicePack: BUILDS[mta.config.server.build].name,
    state: mta.state,
    pid: mta.pid,
    port: mta.port ?? null,
    uptimeSeconds: Math.round((mta.clock.now() - mta.startedAt) / 1000),
    timeScale: mta.config.server.timeScale,
    controlBlocks: {
      capacity: ctx.capacity,
      free: freeBlocks(ctx),
      inUse: held.length,
      leaked: ctx.leaked.length,
      listening: 1,
      networkType: ctx.networkType,
      leakedByKind: byKind,
      exhaustedCount: ctx.counts.exhausted,
      exhaustionSeconds: mta.secondsToExhaustion() ?? null
    },
    connectorControlBlocks: { capacity: cctx.capacity, free: freeBlocks(cctx), inUse: cctx.held.size, leaked: cctx.leaked.length, networkType: cctx.networkType },
    associations: held.map(b => ({ id: b.assocId, peer: b.peer ?? null, direction: b.direction, state: b.state, controlBlock: b.index })),
    queues: queues.filter(q => q.route.channel === 'site').map(q => q.status()),
    connectors: queues.filter(q => q.route.channel !== 'site').map(q => {
      const c = mta.config.topology.connectors[q.route.channel]!
      return { name: c.name, type: c.type, ...q.status(), cost: c.cost }
    }),
    ...(mta.ims === undefined
      ? {}
      : { smtp: { port: mta.ims.listener.port ?? null, domain: mta.config.topology.domain, smartHost: mta.config.server.ims?.smartHost ?? null, queue: mta.ims.queue.status() } }),
    // Intake closes below the disk reserve (9411); queued mail still goes out.
    intake: { open: mta.disk.intakeOpen, freeBytes: mta.disk.freeBytes ?? null, minFreeBytes: mta.config.limits.minFreeBytes },
    limits: { maxMessageBytes: mta.config.limits.maxMessageBytes, maxRecipients: mta.config.limits.maxRecipients },
    inboundUnbound: mta.inbound.admission.size,
    opensWaiting: mta.opensWaiting,
    // What the store check at start-up found: unclean is true after a kill -9 (MTACHECK, 2219/2206/2207).
    storeCheck: mta.storeCheck === undefined
      ? null
      : { unclean: mta.storeCheck.unclean, queues: mta.storeCheck.queues, messages: mta.storeCheck.messages, removed: mta.storeCheck.removed, rebuilt: mta.storeCheck.rebuilt },
    delivered: mta.store.counters.delivered,
    duplicatesSuppressed: mta.store.counters.duplicatesSuppressed,
    ndrs: mta.store.counters.ndrs,
    events: { ...mta.counters.eventCounts }
  }
}

export type MtaStatus = MtaStatusDocument

/** The figures a scenario's sample records, without building the whole status document. */
export interface SampleFigures {
  free: number
  leaked: number
  capacity: number
  depth: number
  connectorLeaked: number
  connectorDepth: number
}

export function sampleFigures (mta: Pick<StatusSource, 'pool' | 'connectorPool' | 'queues' | 'ims'>): SampleFigures {
  const ctx = mta.pool.getSnapshot().context
  const cctx = mta.connectorPool.getSnapshot().context
  let depth = 0
  let connectorDepth = 0
  for (const q of mta.queues.values()) {
    if (q.route.channel === 'site') depth += q.depth
    else connectorDepth += q.depth
  }
  return {
    free: freeBlocks(ctx),
    leaked: ctx.leaked.length,
    capacity: ctx.capacity,
    depth: depth + connectorDepth + (mta.ims?.queue.status().depth ?? 0),
    connectorLeaked: cctx.leaked.length,
    connectorDepth
  }
}
