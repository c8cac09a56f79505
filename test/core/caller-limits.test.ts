import { describe, expect, it } from 'vitest'
import { CallerLimits } from '@xcon/core'

describe('caller limits', () => {
  const limits = () => new CallerLimits<string>({ total: 3, perAddress: 2, graceMs: 1000 })

  it('counts callers up to the limit, then lets the oldest that has had its grace make room', () => {
    const c = limits()
    c.add('a', 'x', 0)
    c.add('b', 'y', 10)
    c.add('c', 'z', 20)
    // All within their grace: the newcomer is asked to wait until the oldest's runs out.
    expect(c.room('w', 500)).toMatchObject({ ok: false, retryInMs: 500 })
    expect(c.room('w', 1005)).toEqual({ ok: true, displace: 'a' })
  })

  it('never displaces a caller that has proved itself, and refuses when every other is one', () => {
    const c = limits()
    for (const [k, a] of [['a', 'x'], ['b', 'y'], ['c', 'z']] as const) { c.add(k, a, 0); c.proven(k) }
    const room = c.room('w', 10_000)
    expect(room.ok).toBe(false)
    expect(room).not.toHaveProperty('retryInMs')
    c.remove('b')
    expect(c.room('w', 10_000)).toEqual({ ok: true })
  })

  it('takes room for a full address from that address only', () => {
    const c = limits()
    c.add('a', 'x', 0)
    c.add('b', 'y', 0)
    c.add('c', 'y', 0)
    expect(c.room('y', 5000)).toEqual({ ok: true, displace: 'b' })
    expect(c.room('x', 5000)).toEqual({ ok: true, displace: 'a' })
  })

  it('forgets what it removed, and removing twice changes nothing', () => {
    const c = limits()
    c.add('a', 'x', 0)
    c.remove('a')
    c.remove('a')
    expect(c.size).toBe(0)
    expect(c.waitingCount).toBe(0)
    expect(c.room('x', 0)).toEqual({ ok: true })
  })
})
