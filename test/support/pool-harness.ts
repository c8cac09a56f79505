import { SimulatedClock } from 'xstate'
import {
  ALL_FAILURE_KINDS, Association, startPool,
  type AssociationEnd, type AssociationPorts, type AssociationReport, type Direction, type PoolInput
} from '@xcon/core'
import { memoryNetwork, type PeerState } from './memory-network.js'

export const TIMING = { openTimeoutMs: 3000, bindTimeoutMs: 3000, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2000, releaseTimeoutMs: 1000 }

/** What one association's owner heard, in order. */
export type Heard = { assocId: string } & ({ type: 'notOpened', why: string } | { type: 'bound', peer: string } | { type: 'ended', end: AssociationEnd })

/**
 * A pool on a SimulatedClock with associations over the in-memory network, each owned by the
 * test: what each owner hears is recorded in `heard`, and what the MTA would log in `reported`.
 */
export function poolHarness (opts: { leaks: boolean, capacity?: number, probability?: number, seed?: number, maxOpening?: number, kinds?: PoolInput['leakPolicy']['kinds'], peers?: Record<string, PeerState>, onEnded?: (end: AssociationEnd) => void }) {
  const net = memoryNetwork(opts.peers ?? { HEALTHY: 'up', DEAD: 'down' })
  const clock = new SimulatedClock()
  const input: PoolInput = {
    capacity: opts.capacity ?? 8,
    networkType: 5,
    leakPolicy: { leaks: opts.leaks, kinds: opts.kinds ?? ALL_FAILURE_KINDS, probability: opts.probability ?? 1 },
    seed: opts.seed ?? 1,
    maxOpening: opts.maxOpening ?? 100
  }
  const pool = startPool(input, clock)
  const heard: Heard[] = []
  const reported: Array<{ type: string, [k: string]: unknown }> = []
  const report: AssociationReport = {
    exhausted: (_k, r, networkType, capacity) => reported.push({ type: 'exhausted', peer: r.peer, networkType, capacity }),
    acquired: (_k, r, controlBlock) => reported.push({ type: 'acquired', peer: r.peer, controlBlock }),
    bound: (_k, r, peer) => reported.push({ type: 'bound', assocId: r.assocId, peer }),
    ended: (_k, end) => reported.push({ type: 'ended', ...end })
  }
  const ports: AssociationPorts = {
    kind: 'site',
    pool,
    transport: net.transport,
    clock: { now: () => clock.now(), setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: id => { clock.clearTimeout(id as number) } },
    timing: TIMING,
    report
  }
  let n = 0
  const associate = (direction: Direction, peer?: string): Association => {
    const assocId = direction === 'inbound' ? `in-${++n}` : `out-${peer ?? ''}-${++n}`
    return new Association(ports, { assocId, direction, peer, channel: 'site' }, {
      notOpened: (id, why) => heard.push({ assocId: id, type: 'notOpened', why }),
      bound: (id, p) => heard.push({ assocId: id, type: 'bound', peer: p }),
      ended: end => { heard.push({ assocId: end.assocId, type: 'ended', end }); opts.onEnded?.(end) }
    }).start()
  }
  const open = (peer: string): Association => associate('outbound', peer)
  const context = () => pool.getSnapshot().context
  const free = (): number => context().capacity - 1 - context().held.size - context().leaked.length
  const ends = () => heard.flatMap(h => h.type === 'ended' ? [h.end] : [])
  // SimulatedClock starts timers set during a jump at the jump's end, so walk time in small steps.
  const advance = (ms: number, step = 100): void => { for (let t = 0; t < ms; t += step) clock.increment(Math.min(step, ms - t)) }
  return { pool, clock, net, heard, reported, open, associate, free, ends, context, input, advance }
}
