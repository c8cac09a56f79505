import { describe, expect, it } from 'vitest'
import { SimSite, parseTopology } from '@xcon/core'

const TOPOLOGY = `
sites:
  LAB: { secret: s, servers: [M1, M2] }
defaults: { build: 2653, timeScale: 600, controlBlocks: 8, traffic: off }
`

/**
 * Two simulated MTAs with a small window (250 messages, so the queue keeps 512 in memory and the
 * rest on disk) and transfers of up to 64: the window empties in the middle of a transfer, and the
 * queue reads the store while it builds one.
 */
async function site (env: Record<string, string> = {}) {
  const s = new SimSite(parseTopology(TOPOLOGY, 'test'), 0, () => undefined, { XCON_TRANSFER_WINDOW: '250', XCON_TRANSFER_BATCH: '64', ...env })
  for (const n of s.names) await s.start(n, 0)
  const run = async (ms: number): Promise<void> => { await s.clock.run(s.clock.now() + ms, async () => { for (let i = 0; i < 32; i++) await null }) }
  const copies = (ids: string[]): Map<string, number> => {
    const n = new Map<string, number>(ids.map(id => [id, 0]))
    for (const d of s.deliveries('M2', 0, 100_000)) n.set(d.mtsId, (n.get(d.mtsId) ?? 0) + 1)
    return n
  }
  return { s, run, copies }
}

describe('transfers of several messages', () => {
  it('delivers a backlog larger than the window once each, sending none twice', async () => {
    const { s, run, copies } = await site()
    const ids = await s.submit('M1', { from: 'user1', to: ['user2@M2'] }, 2000)
    await run(20_000)
    expect([...copies(ids).values()].every(n => n === 1)).toBe(true)
    expect(s.status('M2')!.duplicatesSuppressed).toBe(0)
    expect(s.status('M1')!.queues[0]!.depth).toBe(0)
    expect(s.status('M1')!.queues[0]!.sent).toBe(2000)
  })

  it('loses and duplicates nothing when the receiver is killed with transfers in flight', async () => {
    const { s, run, copies } = await site()
    const ids = await s.submit('M1', { from: 'user1', to: ['user2@M2'] }, 2000)
    await run(5)
    s.kill('M2')
    await run(2_000)
    const booting = s.start('M2')
    await run(20_000)
    await booting
    expect([...copies(ids).values()].every(n => n === 1)).toBe(true)
    expect(s.status('M1')!.queues[0]!.depth).toBe(0)
  })

  it('sends one message alone, at once, on an idle link', async () => {
    const { s, run, copies } = await site()
    const [id] = await s.submit('M1', { from: 'user1', to: ['user2@M2'] })
    await run(2_000)
    expect(copies([id!]).get(id!)).toBe(1)
  })
})
