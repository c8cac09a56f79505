import { describe, expect, it } from 'vitest'
import { PriorityFifo } from '../../packages/core/src/queue/priority-fifo.js'

const msg = (id: number, priority: 'urgent' | 'normal' | 'nonurgent' = 'normal') => ({ id, envelope: { priority } })

describe('priority FIFO of a queue', () => {
  it('gives urgent mail first, then normal, then non-urgent, first in first out within each', () => {
    const q = new PriorityFifo<ReturnType<typeof msg>>()
    ;[msg(1, 'nonurgent'), msg(2), msg(3, 'urgent'), msg(4), msg(5, 'urgent')].forEach(m => q.push(m))
    expect(q.length).toBe(5)
    expect(q.drain().map(m => m.id)).toEqual([3, 5, 2, 4, 1])
    expect(q.length).toBe(0)
  })

  it('puts a message back in front of its lane', () => {
    const q = new PriorityFifo<ReturnType<typeof msg>>()
    q.push(msg(1)); q.push(msg(2))
    const first = q.shift()!
    q.unshift(first)
    expect(q.drain().map(m => m.id)).toEqual([1, 2])
  })

  it('keeps order through a hundred thousand messages', () => {
    const q = new PriorityFifo<ReturnType<typeof msg>>()
    for (let i = 0; i < 100_000; i++) q.push(msg(i))
    let last = -1
    for (let i = 0; i < 60_000; i++) { const m = q.shift()!; expect(m.id).toBe(last + 1); last = m.id }
    for (let i = 100_000; i < 100_010; i++) q.push(msg(i))
    expect(q.length).toBe(40_010)
    expect(q.shift()!.id).toBe(60_000)
  })
})
