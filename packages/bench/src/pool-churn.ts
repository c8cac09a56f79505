import { SimulatedClock } from 'xstate'
import {
  Association, startPool,
  type AssociationOwner, type AssociationPorts, type AssociationReport, type TransportLogic
} from '@xcon/core'

export interface PoolChurn {
  /** Live associations held open while the others come and go. */
  live: number
  /** Associations opened, bound, released and ended, warm. */
  associations: number
  microsPerAssociation: number
}

const timing = { openTimeoutMs: 3000, bindTimeoutMs: 3000, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2000, releaseTimeoutMs: 1000 }

/** A transport that connects, binds and closes at once, in memory: what is measured is the pool and the association's machine. */
const instant: TransportLogic = ({ input, sendBack, receive }) => {
  sendBack({ type: 'transport.connected' })
  sendBack({ type: 'transport.bound', peer: input.peer ?? 'CALLER' })
  receive(cmd => { if (cmd.type === 'transport.release') sendBack({ type: 'transport.closed' }) })
}

const quiet: AssociationReport = { exhausted: () => undefined, acquired: () => undefined, bound: () => undefined, ended: () => undefined }

/**
 * Issue #31: what one association's whole life costs (a control block from the pool, its
 * machine started, bound, released, the block given back), with `live` others held bound
 * meanwhile, on XState's SimulatedClock. When associations were children of the pool, XState
 * copied the pool's children on every spawn and stop, so the cost grew with the live ones; the
 * goal is that it does not.
 */
export function poolChurn (live: number, associations = 20_000): PoolChurn {
  const clock = new SimulatedClock()
  const pool = startPool({ capacity: live + 2, networkType: 5, leakPolicy: { leaks: false, kinds: [], probability: 0 }, seed: 1, maxOpening: live + 2 }, clock)
  const ports: AssociationPorts = { kind: 'site', pool, transport: instant, clock: { now: () => clock.now(), setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: id => { clock.clearTimeout(id as number) } }, timing, report: quiet }
  let ended = 0
  const owner: AssociationOwner = { notOpened: () => { throw new Error('no control block in the churn') }, bound: () => undefined, ended: () => { ended++ } }
  for (let i = 0; i < live; i++) new Association(ports, { assocId: `held-${i}`, direction: 'outbound', peer: 'PEER', channel: 'site' }, owner).start()
  const round = (n: number): void => {
    new Association(ports, { assocId: `churn-${n}`, direction: 'outbound', peer: 'PEER', channel: 'site' }, owner).start().release()
  }
  for (let n = 0; n < 2_000; n++) round(n)
  const t0 = process.hrtime.bigint()
  for (let n = 0; n < associations; n++) round(2_000 + n)
  const micros = Number(process.hrtime.bigint() - t0) / 1000 / associations
  const held = pool.getSnapshot().context.held.size
  pool.stop()
  if (held !== live || ended !== 2_000 + associations) throw new Error(`the pool holds ${held} associations after the churn, not ${live}, and ${ended} ended`)
  return { live, associations, microsPerAssociation: micros }
}
