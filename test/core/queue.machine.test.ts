import { describe, expect, it } from 'vitest'
import { SimulatedClock } from 'xstate'
import { QueueLifecycle, retryPolicy, type QueueLifecycleEmitted } from '@xcon/core'

/** One queue's lifecycle on a simulated clock, with a peer that never answers opens (or does, when told). */
function startQueue (timeScale = 1, targets = ['SRV-B']) {
  const clock = new SimulatedClock()
  const emitted: QueueLifecycleEmitted[] = []
  const onOpen: Array<(e: Extract<QueueLifecycleEmitted, { type: 'open' }>) => void> = []
  const actor = new QueueLifecycle(
    { policy: retryPolicy(timeScale), targets, label: 'SRV-B', clock: { now: () => clock.now(), setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: id => { clock.clearTimeout(id as number) } } },
    e => { emitted.push(e); if (e.type === 'open') for (const f of onOpen) f(e) }
  )
  const opens = (): Array<Extract<QueueLifecycleEmitted, { type: 'open' }>> => emitted.filter(e => e.type === 'open') as any
  const lastOpen = (): string => opens().at(-1)!.assocId
  /** The peer refuses every open, as a dead server does. */
  const refuseOpens = (): void => { onOpen.push(e => { queueMicrotask(() => actor.send({ type: 'queue.ended', assocId: e.assocId, wasBound: false, failed: true, reason: 'refused' })) }) }
  const state = (): string => actor.state
  return { clock, actor, emitted, opens, lastOpen, refuseOpens, state, onOpen }
}

const flush = async (): Promise<void> => { await new Promise(resolve => setImmediate(resolve)) }

describe('queue lifecycle machine', () => {
  it('opens when mail arrives, and retries a failed open every open interval (600 s at time scale 1)', async () => {
    const q = startQueue()
    q.refuseOpens()
    q.actor.send({ type: 'queue.changed', hasMail: true, empty: false })
    await flush()
    expect(q.opens()).toHaveLength(1)
    expect(q.state()).toBe('retry-wait')
    expect(q.actor.context.nextRetryAt).toBe(600_000)
    q.clock.increment(599_999)
    await flush()
    expect(q.opens()).toHaveLength(1)
    q.clock.increment(1)
    await flush()
    expect(q.opens()).toHaveLength(2)
    expect(q.emitted.filter(e => e.type === 'down')).toHaveLength(2)
  })

  it('makes exactly 144 retries after the first attempt, then answers the queue with NDRs at 24 h of MTA time', async () => {
    const q = startQueue(1)
    q.refuseOpens()
    q.actor.send({ type: 'queue.changed', hasMail: true, empty: false })
    await flush()
    for (let i = 0; i < 144; i++) {
      expect(q.emitted.some(e => e.type === 'ndrAll')).toBe(false)
      q.clock.increment(600_000)
      await flush()
    }
    expect(q.opens()).toHaveLength(145)
    expect(q.clock.now()).toBe(24 * 3600 * 1000)
    expect(q.emitted.filter(e => e.type === 'ndrAll')).toEqual([{ type: 'ndrAll', reason: 'unable-to-transfer', diagnostic: 'maximum-time-expired' }])
    expect(q.state()).toBe('draining')
    // Answered: the queue is empty, and it opens nothing more.
    q.actor.send({ type: 'queue.changed', hasMail: false, empty: true })
    q.actor.send({ type: 'queue.drained' })
    q.clock.increment(600_000)
    await flush()
    expect(q.opens()).toHaveLength(145)
    expect(q.state()).toBe('idle')
  })

  it('says MTS congestion in the NDRs when the last failures were for want of control blocks (Q230497)', async () => {
    const q = startQueue(600)
    q.onOpen.push(e => { queueMicrotask(() => q.actor.send({ type: 'queue.exhausted', assocId: e.assocId })) })
    q.actor.send({ type: 'queue.changed', hasMail: true, empty: false })
    for (let i = 0; i < 145; i++) { await flush(); q.clock.increment(1000) }
    expect(q.emitted.find(e => e.type === 'ndrAll')).toEqual({ type: 'ndrAll', reason: 'unable-to-transfer', diagnostic: 'MTS-congestion' })
  })

  it('tries the next target of a Site Connector after a failed open', async () => {
    const q = startQueue(600, ['BR-A', 'BR-B'])
    q.refuseOpens()
    q.actor.send({ type: 'queue.changed', hasMail: true, empty: false })
    await flush()
    q.clock.increment(1000)
    await flush()
    expect(q.opens().map(o => o.target)).toEqual(['BR-A', 'BR-B'])
  })

  it('releases an idle bound association after the 120 s disconnect time, and not while mail keeps it busy', async () => {
    const q = startQueue(1)
    q.actor.send({ type: 'queue.changed', hasMail: true, empty: false })
    q.actor.send({ type: 'queue.bound', assocId: q.lastOpen() })
    expect(q.state()).toBe('bound')
    expect(q.emitted.filter(e => e.type === 'pump')).toHaveLength(1)
    expect(q.actor.context.failedOpens).toBe(0)
    q.actor.send({ type: 'queue.changed', hasMail: false, empty: true })
    q.clock.increment(60_000)
    q.actor.send({ type: 'queue.changed', hasMail: true, empty: false }) // mail: the timer starts over when it goes
    q.actor.send({ type: 'queue.changed', hasMail: false, empty: true })
    q.clock.increment(119_999)
    expect(q.emitted.some(e => e.type === 'release')).toBe(false)
    q.clock.increment(1)
    expect(q.emitted.filter(e => e.type === 'release')).toEqual([{ type: 'release', assocId: q.lastOpen() }])
    q.actor.send({ type: 'queue.ended', assocId: q.lastOpen(), wasBound: true, failed: false, reason: 'released' })
    expect(q.state()).toBe('idle')
    expect(q.opens()).toHaveLength(1)
  })

  it('ignores the answers to an association it no longer waits for, and opens nothing once stopped', async () => {
    const q = startQueue(600)
    q.actor.send({ type: 'queue.changed', hasMail: true, empty: false })
    q.actor.send({ type: 'queue.bound', assocId: 'out-SRV-B-99' })
    expect(q.state()).toBe('opening')
    q.actor.send({ type: 'queue.stop' })
    expect(q.actor.done).toBe(true)
    q.clock.increment(600_000)
    expect(q.opens()).toHaveLength(1)
  })
})
