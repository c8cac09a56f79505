import { describe, expect, it } from 'vitest'
import { createActor, SimulatedClock } from 'xstate'
import {
  ALL_FAILURE_KINDS, associationMachine, freeBlocks, poolDisplace, poolDrain, poolMachine, poolOpen, poolRelease,
  type PoolEmitted, type PoolInput
} from '@xcon/core'
import { memoryNetwork, type PeerState } from '../support/memory-network.js'

const timing = { openTimeoutMs: 3000, bindTimeoutMs: 3000, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2000, releaseTimeoutMs: 1000 }

function startPool (opts: { leaks: boolean, capacity?: number, probability?: number, seed?: number, peers?: Record<string, PeerState> }) {
  const net = memoryNetwork(opts.peers ?? { HEALTHY: 'up', DEAD: 'down' })
  const clock = new SimulatedClock()
  const input: PoolInput = {
    capacity: opts.capacity ?? 8,
    networkType: 5,
    leakPolicy: { leaks: opts.leaks, kinds: ALL_FAILURE_KINDS, probability: opts.probability ?? 1 },
    seed: opts.seed ?? 1,
    timing
  }
  const machine = poolMachine.provide({ actors: { association: associationMachine.provide({ actors: { transport: net.transport } }) } })
  const actor = createActor(machine, { input, clock })
  const emitted: PoolEmitted[] = []
  actor.on('*', e => { emitted.push(e) })
  actor.start()
  let n = 0
  const open = (peer: string) => { const id = `a${++n}`; actor.send(poolOpen(id, 'outbound', peer)); return id }
  const free = () => freeBlocks(actor.getSnapshot().context)
  // SimulatedClock starts timers set during a jump at the jump's end, so walk time in small steps.
  const advance = (ms: number, step = 100) => { for (let t = 0; t < ms; t += step) clock.increment(Math.min(step, ms - t)) }
  return { actor, clock, net, emitted, open, free, input, machine, advance }
}

describe('pool machine', () => {
  it('leaks the control block of every failed attempt on build 2650 until 9156', () => {
    const { open, free, emitted, actor } = startPool({ leaks: true })
    expect(free()).toBe(7) // 8 configured, one held by the listener (Q243632)
    for (let i = 0; i < 7; i++) open('DEAD')
    expect(free()).toBe(0)
    expect(actor.getSnapshot().context.leaked).toHaveLength(7)
    expect(actor.getSnapshot().context.leaked.every(b => b.kind === 'refused')).toBe(true)

    open('HEALTHY')
    const exhausted = emitted.filter(e => e.type === 'cb.exhausted')
    expect(exhausted).toEqual([expect.objectContaining({ peer: 'HEALTHY', networkType: 5, capacity: 8 })])
    expect(Object.keys(actor.getSnapshot().context.held)).toHaveLength(0)
  })

  it('returns every control block on build 2653 however many attempts fail', () => {
    const { open, free, emitted } = startPool({ leaks: false })
    for (let i = 0; i < 500; i++) open('DEAD')
    expect(free()).toBe(7)
    open('HEALTHY')
    expect(emitted.filter(e => e.type === 'cb.exhausted')).toHaveLength(0)
    expect(emitted.filter(e => e.type === 'assoc.bound').map(e => e.type === 'assoc.bound' && e.peer)).toEqual(['HEALTHY'])
  })

  it('gives every control block back when the MTA restarts (a new pool)', () => {
    const first = startPool({ leaks: true })
    for (let i = 0; i < 7; i++) first.open('DEAD')
    expect(first.free()).toBe(0)
    first.actor.stop()
    const restarted = createActor(first.machine, { input: first.input, clock: new SimulatedClock() }).start()
    expect(freeBlocks(restarted.getSnapshot().context)).toBe(7)
  })

  it('times out an attempt to a silent peer on the injected clock and counts it as a timeout', () => {
    const { open, clock, emitted, free } = startPool({ leaks: true, peers: { PAUSED: 'silent' } })
    open('PAUSED')
    expect(free()).toBe(6)
    clock.increment(2999)
    expect(emitted.some(e => e.type === 'assoc.ended')).toBe(false)
    clock.increment(1)
    expect(emitted.find(e => e.type === 'assoc.ended')).toMatchObject({ outcome: 'timeout', leaked: true, wasBound: false, free: 6, lost: 1, capacity: 8, networkType: 5 })
    expect(free()).toBe(6)
  })

  it('fails a bound association whose peer stops answering heartbeats', () => {
    const { open, advance, emitted, net } = startPool({ leaks: false, peers: { B: 'up' } })
    open('B')
    advance(5000)
    expect(emitted.some(e => e.type === 'assoc.ended')).toBe(false)
    net.set('B', 'silent')
    advance(3000) // next probe at most 1 s away, then 2 s without an answer
    expect(emitted.find(e => e.type === 'assoc.ended')).toMatchObject({ outcome: 'timeout', wasBound: true, leaked: false })
  })

  it('returns the block of a clean release even on a leaky build', () => {
    const { open, actor, emitted, free } = startPool({ leaks: true, peers: { B: 'up' } })
    const id = open('B')
    expect(free()).toBe(6)
    actor.send(poolRelease(id))
    expect(emitted.find(e => e.type === 'assoc.ended')).toMatchObject({ outcome: 'released', leaked: false })
    expect(free()).toBe(7)
  })

  it('leaks only the configured failure kinds', () => {
    const { actor, free } = startPool({ leaks: true, peers: { R: 'rejecting', D: 'down' } })
    actor.send({ type: 'pool.open', assocId: 'x', direction: 'outbound', peer: 'R' })
    expect(free()).toBe(6)
    const onlyRefused = startPool({ leaks: true, peers: { R: 'rejecting' } })
    onlyRefused.actor.stop()
    const machine = onlyRefused.machine
    const actor2 = createActor(machine, { input: { ...onlyRefused.input, leakPolicy: { leaks: true, kinds: ['refused'], probability: 1 } }, clock: new SimulatedClock() }).start()
    actor2.send(poolOpen('y', 'outbound', 'R'))
    expect(freeBlocks(actor2.getSnapshot().context)).toBe(7)
  })

  it('draws the same leaks from the same seed', () => {
    const leakedWith = (seed: number) => {
      const p = startPool({ leaks: true, capacity: 200, probability: 0.5, seed })
      for (let i = 0; i < 100; i++) p.open('DEAD')
      return p.actor.getSnapshot().context.leaked.map(b => b.index)
    }
    expect(leakedWith(42)).toEqual(leakedWith(42))
    expect(leakedWith(42).length).toBeGreaterThan(30)
    expect(leakedWith(42).length).toBeLessThan(70)
    expect(leakedWith(42)).not.toEqual(leakedWith(43))
  })

  it('releases bound associations and refuses new ones while draining', () => {
    const { open, actor, emitted, free } = startPool({ leaks: true, peers: { B: 'up', C: 'up' } })
    open('B'); open('C')
    actor.send(poolDrain())
    expect(emitted.filter(e => e.type === 'assoc.ended' && e.outcome === 'released')).toHaveLength(2)
    open('B')
    expect(emitted.at(-1)).toMatchObject({ type: 'cb.refused', peer: 'B' })
    expect(free()).toBe(7)
  })

  it('ends an inbound association that has not bound when it is displaced, as unauthenticated, and leaks nothing for it by default', () => {
    const net = memoryNetwork({ INBOUND: 'silent', HEALTHY: 'up' })
    const machine = poolMachine.provide({ actors: { association: associationMachine.provide({ actors: { transport: net.transport } }) } })
    const actor = createActor(machine, { input: { capacity: 3, networkType: 5, leakPolicy: { leaks: true, kinds: ['refused', 'timeout', 'reset', 'bind-rejected', 'aborted'], probability: 1 }, seed: 1, timing }, clock: new SimulatedClock() })
    const emitted: PoolEmitted[] = []
    actor.on('*', e => { emitted.push(e) })
    actor.start()
    actor.send(poolOpen('in-1', 'inbound'))
    actor.send(poolOpen('out-1', 'outbound', 'HEALTHY'))
    expect(freeBlocks(actor.getSnapshot().context)).toBe(0)
    // A bound association is not the pool's to displace.
    actor.send(poolDisplace('out-1', 'a newer caller'))
    expect('out-1' in actor.getSnapshot().context.held).toBe(true)
    // The silent caller's block comes back before the next event: a newcomer can have it at once.
    actor.send(poolDisplace('in-1', 'a newer caller'))
    expect(emitted.filter(e => e.type === 'assoc.ended')).toEqual([expect.objectContaining({ assocId: 'in-1', outcome: 'unauthenticated', reason: 'a newer caller', leaked: false })])
    actor.send(poolOpen('in-2', 'inbound'))
    expect(emitted.filter(e => e.type === 'cb.exhausted')).toEqual([])
    expect('in-2' in actor.getSnapshot().context.held).toBe(true)
  })
})
