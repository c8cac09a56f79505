import { describe, expect, it } from 'vitest'
import { SimSite, parseTopology } from '@xcon/core'

const TOPOLOGY = `
organization: XCON
sites:
  CORP: { secret: s3cret, servers: [SRV-A, SRV-B, SRV-C] }
defaults: { build: 2653, timeScale: 600, controlBlocks: 8, traffic: off }
servers:
  SRV-A: { build: 2650 }
`

/** A simulated site and the Exchange events its MTAs log, by server. */
async function site () {
  const events: Array<{ server: string, eventId: number, fields: Record<string, unknown> }> = []
  const s = new SimSite(parseTopology(TOPOLOGY, 'test'), 0, (server, _level, fields) => {
    if (typeof fields.eventId === 'number') events.push({ server, eventId: fields.eventId, fields })
  })
  for (const n of s.names) await s.start(n, 0)
  const run = async (ms: number): Promise<void> => { await s.clock.run(s.clock.now() + ms, async () => { for (let i = 0; i < 32; i++) await null }) }
  const ids = (server: string, eventId: number) => events.filter(e => e.server === server && e.eventId === eventId)
  const delivered = (server: string) => s.deliveries(server, 0).filter(d => d.kind === 'message').map(d => d.mtsId)
  return { s, run, ids, delivered }
}

describe('the simulated site (core MtaNode on a virtual clock and an in-memory network)', () => {
  it('carries a message to its peer once, over a real association lifecycle', async () => {
    const { s, run, delivered, ids } = await site()
    const [id] = await s.submit('SRV-A', { from: 'user1', to: ['user2@SRV-B'] })
    await run(5_000)
    expect(delivered('SRV-B')).toEqual([id])
    expect(s.status('SRV-A')!.queues.find(q => q.peer === 'SRV-B')!.depth).toBe(0)
    expect(ids('SRV-A', 9298)).toHaveLength(1)
  })

  it('keeps the store through a kill: the next start checks it (2219, 2206, 2207) and the waiting mail arrives once', async () => {
    const { s, run, delivered, ids } = await site()
    s.kill('SRV-B')
    const [id] = await s.submit('SRV-A', { from: 'user1', to: ['user2@SRV-B'] })
    await run(100)
    // Nothing listens at SRV-B: 9215 (socket error 10061) and 9318.
    expect(ids('SRV-A', 9215).length).toBeGreaterThan(0)
    expect(ids('SRV-A', 9318).length).toBeGreaterThan(0)
    s.kill('SRV-A')
    await run(100)
    await s.start('SRV-A', 0)
    expect(ids('SRV-A', 2219)).toHaveLength(1)
    expect(ids('SRV-A', 2206)[0]!.fields.queue).toBe('server:SRV-B')
    expect(ids('SRV-A', 2207)).toHaveLength(1)
    // A process takes a moment to boot: nothing listens until it has.
    const booting = s.start('SRV-B')
    expect(s.state('SRV-B')).toBe('down')
    await run(3_000) // an open retry is 600 s / 600
    await booting
    expect(s.state('SRV-B')).toBe('running')
    expect(delivered('SRV-B')).toEqual([id])
  })

  it('a paused peer stops answering: the bound association times out (2035), and after the resume the mail goes', async () => {
    const { s, run, delivered, ids } = await site()
    const [first] = await s.submit('SRV-A', { from: 'user1', to: ['user2@SRV-B'] })
    await run(50)
    s.pause('SRV-B')
    expect(s.state('SRV-B')).toBe('paused')
    const [second] = await s.submit('SRV-A', { from: 'user1', to: ['user2@SRV-B'] })
    await run(5_000)
    const lost = ids('SRV-A', 2035)
    expect(lost.length).toBeGreaterThan(0)
    expect(lost[0]!.fields.outcome).toBe('timeout')
    s.resume('SRV-B')
    await run(5_000)
    expect(delivered('SRV-B').sort()).toEqual([first, second].sort())
  })

  it('a refusing link gives 9215; a black hole gives an open that times out (9318 without 9215)', async () => {
    const { s, run, ids } = await site()
    s.net.setMode('SRV-A', 'SRV-B', 'refuse')
    s.net.setMode('SRV-A', 'SRV-C', 'blackhole')
    await s.submit('SRV-A', { from: 'user1', to: ['user2@SRV-B', 'user3@SRV-C'] })
    await run(10_000)
    expect(ids('SRV-A', 9215).every(e => e.fields.peer === 'SRV-B')).toBe(true)
    const toC = ids('SRV-A', 9318).filter(e => e.fields.peer === 'SRV-C')
    expect(toC.length).toBeGreaterThan(0)
    expect(toC[0]!.fields.outcome).toBe('timeout')
  })

  it('a clean stop releases its associations and logs 9299; the next start has no store check to run', async () => {
    const { s, run, ids } = await site()
    await s.submit('SRV-A', { from: 'user1', to: ['user2@SRV-B'] })
    await run(50)
    const stopping = s.stop('SRV-B')
    await run(5_000)
    await stopping
    expect(ids('SRV-B', 9299)).toHaveLength(1)
    await s.start('SRV-B', 0)
    expect(ids('SRV-B', 2219)).toHaveLength(0)
  })
})
