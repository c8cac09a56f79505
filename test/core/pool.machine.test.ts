import { describe, expect, it } from 'vitest'
import { SimulatedClock } from 'xstate'
import { freeBlocks, startPool } from '@xcon/core'
import { poolHarness } from '../support/pool-harness.js'

describe('pool machine', () => {
  it('leaks the control block of every failed attempt on build 2650 until 9156', () => {
    const { open, free, heard, reported, context } = poolHarness({ leaks: true })
    expect(free()).toBe(7) // 8 configured, one held by the listener (Q243632)
    for (let i = 0; i < 7; i++) open('DEAD')
    expect(free()).toBe(0)
    expect(context().leaked).toHaveLength(7)
    expect(context().leaked.every(b => b.kind === 'refused')).toBe(true)

    const healthy = open('HEALTHY')
    expect(heard.filter(h => h.assocId === healthy.assocId)).toEqual([{ assocId: healthy.assocId, type: 'notOpened', why: 'exhausted' }])
    expect(reported.filter(r => r.type === 'exhausted')).toEqual([{ type: 'exhausted', peer: 'HEALTHY', networkType: 5, capacity: 8 }])
    expect(context().held.size).toBe(0)
    expect(context().counts.exhausted).toBe(1)
  })

  it('returns every control block on build 2653 however many attempts fail', () => {
    const { open, free, heard } = poolHarness({ leaks: false })
    for (let i = 0; i < 500; i++) open('DEAD')
    expect(free()).toBe(7)
    open('HEALTHY')
    expect(heard.filter(h => h.type === 'notOpened')).toHaveLength(0)
    expect(heard.filter(h => h.type === 'bound')).toEqual([expect.objectContaining({ peer: 'HEALTHY' })])
  })

  it('answers each request to the part that asked, and only to it', () => {
    const { open, heard } = poolHarness({ leaks: true, capacity: 3 })
    const a = open('DEAD')
    const b = open('HEALTHY')
    const c = open('HEALTHY')
    expect(heard.filter(h => h.assocId === a.assocId).map(h => h.type)).toEqual(['ended'])
    expect(heard.filter(h => h.assocId === b.assocId).map(h => h.type)).toEqual(['bound'])
    expect(heard.filter(h => h.assocId === c.assocId).map(h => h.type)).toEqual(['notOpened'])
  })

  it('gives every control block back when the MTA restarts (a new pool)', () => {
    const first = poolHarness({ leaks: true })
    for (let i = 0; i < 7; i++) first.open('DEAD')
    expect(first.free()).toBe(0)
    first.pool.stop()
    const restarted = startPool(first.input, new SimulatedClock())
    expect(freeBlocks(restarted.getSnapshot().context)).toBe(7)
  })

  it('times out an attempt to a silent peer on the injected clock and counts it as a timeout', () => {
    const { open, clock, ends, free } = poolHarness({ leaks: true, peers: { PAUSED: 'silent' } })
    open('PAUSED')
    expect(free()).toBe(6)
    clock.increment(2999)
    expect(ends()).toHaveLength(0)
    clock.increment(1)
    expect(ends()).toEqual([expect.objectContaining({ outcome: 'timeout', leaked: true, wasBound: false, free: 6, lost: 1, capacity: 8, networkType: 5 })])
    expect(free()).toBe(6)
  })

  it('fails a bound association whose peer stops answering heartbeats', () => {
    const { open, advance, ends, net } = poolHarness({ leaks: false, peers: { B: 'up' } })
    open('B')
    advance(5000)
    expect(ends()).toHaveLength(0)
    net.set('B', 'silent')
    advance(3000) // next probe at most 1 s away, then 2 s without an answer
    expect(ends()).toEqual([expect.objectContaining({ outcome: 'timeout', wasBound: true, leaked: false })])
  })

  it('returns the block of a clean release even on a leaky build', () => {
    const { open, ends, free } = poolHarness({ leaks: true, peers: { B: 'up' } })
    const a = open('B')
    expect(free()).toBe(6)
    a.release()
    expect(ends()).toEqual([expect.objectContaining({ outcome: 'released', leaked: false })])
    expect(free()).toBe(7)
  })

  it('leaks only the configured failure kinds', () => {
    const rejected = poolHarness({ leaks: true, peers: { R: 'rejecting' } })
    rejected.open('R')
    expect(rejected.free()).toBe(6)
    const onlyRefused = poolHarness({ leaks: true, kinds: ['refused'], peers: { R: 'rejecting' } })
    onlyRefused.open('R')
    expect(onlyRefused.free()).toBe(7)
  })

  it('draws the same leaks from the same seed', () => {
    const leakedWith = (seed: number) => {
      const p = poolHarness({ leaks: true, capacity: 200, probability: 0.5, seed })
      for (let i = 0; i < 100; i++) p.open('DEAD')
      return p.context().leaked.map(b => b.index)
    }
    expect(leakedWith(42)).toEqual(leakedWith(42))
    expect(leakedWith(42).length).toBeGreaterThan(30)
    expect(leakedWith(42).length).toBeLessThan(70)
    expect(leakedWith(42)).not.toEqual(leakedWith(43))
  })

  it('lets at most maxOpening outbound associations open at once; the rest wait in arrival order, inbound ones never', () => {
    const { open, associate, heard, context, clock } = poolHarness({ leaks: false, maxOpening: 2, peers: { S: 'silent', INBOUND: 'silent' } })
    const [a, b, c, d] = [open('S'), open('S'), open('S'), open('S')]
    expect(context().waiting.map(r => r.assocId)).toEqual([c.assocId, d.assocId])
    expect(associate('inbound').live).toBe(true)
    d.release() // withdrawn while it waits: it never opens
    expect(context().waiting.map(r => r.assocId)).toEqual([c.assocId])
    clock.increment(3000) // a and b time out: c takes a turn
    expect(heard.filter(h => h.type === 'ended' && h.end.direction === 'outbound').map(h => h.assocId)).toEqual([a.assocId, b.assocId])
    expect(c.live).toBe(true)
    expect(context().waiting).toHaveLength(0)
    expect(heard.filter(h => h.assocId === d.assocId)).toEqual([])
  })

  it('takes back at once a block it granted to a request withdrawn in the same turn', () => {
    let waiting: ReturnType<ReturnType<typeof poolHarness>['open']> | undefined
    const { open, clock, context, free } = poolHarness({ leaks: true, maxOpening: 1, peers: { S: 'silent' }, onEnded: () => { waiting?.release() } })
    open('S')
    waiting = open('S')
    // The first open times out; its owner, told of the end, withdraws the second, which the same end has just granted.
    clock.increment(3000)
    expect(waiting.live).toBe(false)
    expect(context().held.size).toBe(0)
    expect(context().leaked).toHaveLength(1) // the timeout's own block, on a leaky build
    expect(free()).toBe(6)
  })

  it('refuses new requests, and those waiting, while draining', () => {
    const { open, pool, heard, context } = poolHarness({ leaks: true, maxOpening: 1, peers: { S: 'silent' } })
    open('S')
    const waiting = open('S')
    pool.send({ type: 'pool.drain' })
    const late = open('S')
    expect(heard).toEqual([
      { assocId: waiting.assocId, type: 'notOpened', why: 'refused' },
      { assocId: late.assocId, type: 'notOpened', why: 'refused' }
    ])
    expect(context().held.size).toBe(1)
  })

  it('ends an inbound association that has not bound when it is displaced, as unauthenticated, and leaks nothing for it by default', () => {
    const { associate, open, ends, context, free } = poolHarness({ leaks: true, capacity: 3, kinds: ['refused', 'timeout', 'reset', 'bind-rejected', 'aborted'], peers: { INBOUND: 'silent', HEALTHY: 'up' } })
    const caller = associate('inbound')
    const out = open('HEALTHY')
    expect(free()).toBe(0)
    // A bound association cannot be displaced.
    out.displace('a newer caller')
    expect(context().held.has(out.assocId)).toBe(true)
    // The silent caller's block comes back at once: a newcomer can have it.
    caller.displace('a newer caller')
    expect(ends()).toEqual([expect.objectContaining({ assocId: caller.assocId, outcome: 'unauthenticated', reason: 'a newer caller', leaked: false })])
    expect(associate('inbound').live).toBe(true)
  })
})
