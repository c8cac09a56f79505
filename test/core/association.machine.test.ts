import { describe, expect, it } from 'vitest'
import { SimulatedClock } from 'xstate'
import { AssociationMachine, type AssociationInput, type TransportLogic } from '@xcon/core'

const timing = { openTimeoutMs: 3000, bindTimeoutMs: 3000, heartbeatIntervalMs: 1000, heartbeatTimeoutMs: 2000, releaseTimeoutMs: 1000 }

/** A peer that answers every command before the command returns, as an in-memory transport may. */
const eager: TransportLogic = ({ input, sendBack, receive }) => {
  sendBack({ type: 'transport.connected' })
  sendBack({ type: 'transport.bound', peer: input.peer ?? 'CALLER' })
  receive(cmd => { sendBack(cmd.type === 'transport.ping' ? { type: 'transport.alive' } : { type: 'transport.closed' }) })
}

function run (transport: TransportLogic, direction: AssociationInput['direction'] = 'outbound') {
  const clock = new SimulatedClock()
  const heard: string[] = []
  let stopped = 0
  const counting: TransportLogic = args => { const stop = transport(args); return () => { stopped++; if (typeof stop === 'function') stop() } }
  const m = new AssociationMachine({ assocId: 'a1', peer: direction === 'outbound' ? 'B' : undefined, direction, channel: 'site', controlBlock: 1, timing }, counting, { now: () => clock.now(), setTimeout: (fn, ms) => clock.setTimeout(fn, ms), clearTimeout: id => { clock.clearTimeout(id as number) } }, e => {
    heard.push(e.type === 'assoc.bound' ? `bound ${e.peer}` : `ended ${e.outcome}: ${e.reason}`)
  })
  m.start()
  const advance = (ms: number): void => { for (let t = 0; t < ms; t += 100) clock.increment(100) }
  const timers = (): number => (clock as unknown as { timeouts: Map<number, unknown> }).timeouts.size
  return { m, heard, advance, timers, stopped: () => stopped }
}

describe('the association machine', () => {
  it('stays bound while heartbeats are answered, even before the ping returns', () => {
    const a = run(eager)
    a.advance(10_000)
    expect(a.heard).toEqual(['bound B'])
    expect(a.m.value).toBe('bound')
  })

  it('ends released once, with no timer left, when the peer confirms the release before it returns', () => {
    const a = run(eager)
    a.m.send({ type: 'assoc.release' })
    expect(a.heard).toEqual(['bound B', 'ended released: released'])
    expect(a.timers()).toBe(0)
    expect(a.stopped()).toBe(1)
    a.advance(5000)
    expect(a.heard).toHaveLength(2)
  })

  it('fails a connect with no answer after the open timeout, and an inbound caller that never binds as unauthenticated', () => {
    const silent: TransportLogic = () => undefined
    const out = run(silent)
    out.advance(3000)
    expect(out.heard).toEqual(['ended timeout: no answer to connect within the open timeout'])
    const caller = run(({ sendBack }) => { sendBack({ type: 'transport.connected' }) }, 'inbound')
    caller.advance(3000)
    expect(caller.heard).toEqual(['ended unauthenticated: no bind within the bind timeout'])
  })

  it('ends once when the transport fails while it starts, and stops the transport it got back', () => {
    const a = run(({ sendBack }) => { sendBack({ type: 'transport.failed', kind: 'refused', reason: 'ECONNREFUSED' }); return () => undefined })
    expect(a.heard).toEqual(['ended refused: ECONNREFUSED'])
    expect(a.stopped()).toBe(1)
    expect(a.timers()).toBe(0)
  })

  it('gives way to a newer caller only while inbound and unbound', () => {
    const binding = run(({ sendBack }) => { sendBack({ type: 'transport.connected' }) }, 'inbound')
    binding.m.send({ type: 'assoc.displace', reason: 'a newer caller' })
    expect(binding.heard).toEqual(['ended unauthenticated: a newer caller'])
    const bound = run(eager, 'inbound')
    bound.m.send({ type: 'assoc.displace', reason: 'a newer caller' })
    expect(bound.heard).toEqual(['bound CALLER'])
  })
})
