import v8 from 'node:v8'
import vm from 'node:vm'
import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock } from 'xstate'
import { ALL_FAILURE_KINDS, associationMachine, poolDisplace, poolMachine, poolOpen, poolRelease } from '@xcon/core'
import { memoryNetwork } from '../support/memory-network.js'

const timing = { openTimeoutMs: 3000, bindTimeoutMs: 3000, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2000, releaseTimeoutMs: 1000 }

/** A full collection, so that what is measured is the live heap. */
function liveHeap (): number {
  v8.setFlagsFromString('--expose_gc')
  const gc = vm.runInNewContext('gc') as () => void
  gc()
  gc()
  return process.memoryUsage().heapUsed
}

describe('the pool\'s memory', () => {
  it('does not grow with the associations it has had: 100,000, half of them strangers displaced before they bound', () => {
    const net = memoryNetwork({ INBOUND: 'silent', HEALTHY: 'up' })
    const machine = poolMachine.provide({ actors: { association: associationMachine.provide({ actors: { transport: net.transport } }) } })
    const actor = createActor(machine, { input: { capacity: 8, networkType: 5, leakPolicy: { leaks: true, kinds: ALL_FAILURE_KINDS, probability: 0 }, seed: 1, timing }, clock: new SimulatedClock() })
    actor.start()
    let n = 0
    const round = (): void => {
      const out = `out-HEALTHY-${++n}`
      actor.send(poolOpen(out, 'outbound', 'HEALTHY'))
      actor.send(poolRelease(out))
      const inbound = `in-${n}`
      actor.send(poolOpen(inbound, 'inbound'))
      actor.send(poolDisplace(inbound, 'a newer caller'))
    }
    for (let i = 0; i < 2_000; i++) round()
    const before = liveHeap()
    for (let i = 0; i < 50_000; i++) round()
    const grown = liveHeap() - before
    expect(Object.keys(actor.getSnapshot().context.held)).toEqual([])
    expect(actor.getSnapshot().context.counts).toMatchObject({ opened: 104_000, released: 52_000, failed: 52_000 })
    expect(grown).toBeLessThan(1024 * 1024)
    actor.stop()
  })
})
