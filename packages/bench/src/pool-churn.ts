import { createActor, fromCallback, SimulatedClock } from 'xstate'
import { associationMachine, poolMachine, poolOpen, poolRelease, type TransportCommand, type TransportInput } from '@xcon/core'

export interface PoolChurn {
  /** Live associations held open while the others come and go. */
  live: number
  /** Associations opened, bound, released and ended, warm. */
  associations: number
  microsPerAssociation: number
}

const timing = { openTimeoutMs: 3000, bindTimeoutMs: 3000, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2000, releaseTimeoutMs: 1000 }

/** A transport that connects, binds and closes at once, in memory: what is measured is the pool and its machines. */
const instant = fromCallback<TransportCommand, TransportInput>(({ input, sendBack, receive }) => {
  sendBack({ type: 'transport.connected' })
  sendBack({ type: 'transport.bound', peer: input.peer ?? 'CALLER' })
  receive(cmd => { if (cmd.type === 'transport.release') sendBack({ type: 'transport.closed' }) })
})

/**
 * Issue #31: what one association's whole life (spawn, bind, release, stop) costs the pool, with
 * `live` others held bound meanwhile, on XState's SimulatedClock. XState copies the parent's
 * children map on every spawn and stop, so the cost can grow with the live associations; the goal
 * is that it does not.
 */
export function poolChurn (live: number, associations = 20_000): PoolChurn {
  const machine = poolMachine.provide({ actors: { association: associationMachine.provide({ actors: { transport: instant } }) } })
  const actor = createActor(machine, {
    input: { capacity: live + 2, networkType: 5, leakPolicy: { leaks: false, kinds: [], probability: 0 }, seed: 1, timing },
    clock: new SimulatedClock()
  })
  actor.start()
  for (let i = 0; i < live; i++) actor.send(poolOpen(`held-${i}`, 'outbound', 'PEER'))
  const round = (n: number): void => {
    const id = `churn-${n}`
    actor.send(poolOpen(id, 'outbound', 'PEER'))
    actor.send(poolRelease(id))
  }
  for (let n = 0; n < 2_000; n++) round(n)
  const t0 = process.hrtime.bigint()
  for (let n = 0; n < associations; n++) round(2_000 + n)
  const micros = Number(process.hrtime.bigint() - t0) / 1000 / associations
  const held = Object.keys(actor.getSnapshot().context.held).length
  actor.stop()
  if (held !== live) throw new Error(`the pool holds ${held} associations after the churn, not ${live}`)
  return { live, associations, microsPerAssociation: micros }
}
