import { describe, expect, it } from 'vitest'
import { SimSite, parseTopology } from '@xcon/core'

const names = Array.from({ length: 9 }, (_, i) => `HUB-${i + 1}`)
const TOPOLOGY = `
organization: XCON
sites:
  STAR: { secret: s3cret, servers: [${names.join(', ')}] }
defaults: { build: 2653, timeScale: 600, controlBlocks: 20, traffic: off }
`

describe('a site whose MTAs open more associations than XCON_MAX_OPENING at once (simulated)', () => {
  it('opens two at a time yet delivers to every peer once, past peers that do not answer', async () => {
    const s = new SimSite(parseTopology(TOPOLOGY, 'test'), 0, () => undefined, { XCON_MAX_OPENING: '2' })
    for (const n of s.names) await s.start(n, 0)
    // Three peers black-holed: their opens hold a turn for the open timeout, then retry.
    for (const n of names.slice(1, 4)) s.pause(n)
    const run = async (ms: number): Promise<void> => { await s.clock.run(s.clock.now() + ms, async () => { for (let i = 0; i < 32; i++) await null }) }
    const [id] = await s.submit('HUB-1', { from: 'user1', to: names.slice(1).map(n => `user1@${n}`) })
    let most = 0
    for (let t = 0; t < 300; t++) {
      await run(50)
      const st = s.status('HUB-1')!
      most = Math.max(most, st.associations.filter(a => a.direction === 'outbound' && a.state === 'opening').length)
      if (t === 0) expect(st.opensWaiting).toBe(names.length - 3)
    }
    expect(most).toBe(2)
    for (const n of names.slice(4)) expect(s.deliveries(n, 0).filter(d => d.kind === 'message').map(d => d.mtsId)).toEqual([id])
    for (const n of names.slice(1, 4)) s.resume(n)
    await run(30_000)
    for (const n of names.slice(1)) expect(s.deliveries(n, 0).filter(d => d.kind === 'message').map(d => d.mtsId)).toEqual([id])
    await s.close()
  })
})

// The connector is named like a server of the sender's site, so both queues name their first
// association out-HUB-1: only a gate of each pool's own keeps the two opens apart.
const SHARED_NAME = `
organization: XCON
sites:
  EAST: { secret: east, servers: [E-1, HUB, SLOW] }
  WEST: { secret: west, servers: [W-1] }
connectors:
  HUB: { type: x400, sites: [EAST, WEST], bridgeheads: { EAST: E-1, WEST: W-1 } }
defaults: { build: 2653, timeScale: 600, controlBlocks: 20, traffic: off }
`

describe('a connector that shares its name with a server (simulated, one open at a time)', () => {
  it('opens the server\'s association and the connector\'s, and delivers each copy once', async () => {
    const s = new SimSite(parseTopology(SHARED_NAME, 'test'), 0, () => undefined, { XCON_MAX_OPENING: '1' })
    for (const n of s.names) await s.start(n, 0)
    s.pause('SLOW') // its open holds the one turn while the other two wait
    const run = async (ms: number): Promise<void> => { await s.clock.run(s.clock.now() + ms, async () => { for (let i = 0; i < 32; i++) await null }) }
    const [id] = await s.submit('E-1', { from: 'user1', to: ['user1@SLOW', 'user1@HUB', 'user1@W-1'] })
    await run(15_000)
    for (const n of ['HUB', 'W-1']) expect(s.deliveries(n, 0).filter(d => d.kind === 'message').map(d => d.mtsId)).toEqual([id])
    s.resume('SLOW')
    await run(15_000)
    expect(s.deliveries('SLOW', 0).filter(d => d.kind === 'message').map(d => d.mtsId)).toEqual([id])
    expect(s.status('E-1')!.queues.every(q => q.depth === 0)).toBe(true)
    await s.close()
  })
})
