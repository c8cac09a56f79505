import { statSync } from 'node:fs'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, siteYaml, waitFor } from '../support/site-harness.js'

afterEach(closeAllSites)

/** Every delivery record of an MTA, page by page (/deliveries answers 10,000 at a time). */
async function allDeliveries (t: TestSite, name: string): Promise<Array<{ mtsId: string }>> {
  const out: Array<{ mtsId: string, seq: number }> = []
  for (;;) {
    const page = await t.site.deliveries(name, out.at(-1)?.seq ?? 0)
    if (page.length === 0) return out
    out.push(...page)
  }
}

describe('an MTA whose backlog has drained', () => {
  it('compacts its store once idle, and goes on delivering exactly once', async () => {
    const t = await TestSite.start(siteYaml(['SRV-A', 'SRV-B'], 'build: 2653, timeScale: 600, controlBlocks: 8, traffic: off'), { only: ['SRV-A'] })
    const body = 'x'.repeat(1024)
    const ids: string[] = []
    for (let i = 0; i < 6; i++) ids.push(...await t.site.submit('SRV-A', { to: ['user1@SRV-B'], count: 5000, subject: 'backlog', body }))
    const file = join(t.site.dataDir, 'data', 'SRV-A', 'store', 'data.mdb')
    const queuedBytes = statSync(file).size
    expect(queuedBytes).toBeGreaterThan(32 * 1024 * 1024)

    t.site.spawn('SRV-B')
    await t.site.waitReady('SRV-B')
    await waitFor('30,000 on SRV-B', async () => (await allDeliveries(t, 'SRV-B')).length === 30_000, 120_000, 1000)
    const line = await waitFor('SRV-A to compact its store', () => t.logs('SRV-A').find(r => /^store compacted/.test(String(r.msg))), 30_000, 500)
    expect(line).toMatchObject({ category: 'Field Engineering' })
    expect(line.beforeBytes).toBeGreaterThanOrEqual(queuedBytes)
    expect(statSync(file).size).toBeLessThan(4 * 1024 * 1024)

    const more = await t.send('SRV-A', 'user1@SRV-B', 10, 'after the compaction')
    await waitFor('30,010 on SRV-B', async () => (await allDeliveries(t, 'SRV-B')).length === 30_010)
    expect(countByMtsId(await allDeliveries(t, 'SRV-B'))).toEqual(new Map([...ids, ...more].map(id => [id, 1])))
    const a = await t.status('SRV-A')
    expect(a.state).toBe('running')
    expect(a.queues[0].depth).toBe(0)
  })

  for (const point of ['mid-compaction', 'after-compaction']) {
    it(`loses and repeats nothing when killed -9 at ${point}`, async () => {
      const t = await TestSite.start(siteYaml(['SRV-A', 'SRV-B'], 'build: 2653, timeScale: 600, controlBlocks: 8, traffic: off'), { only: ['SRV-A'], env: { 'SRV-A': { XCON_KILL_AT: point } } })
      const ids: string[] = []
      for (let i = 0; i < 4; i++) ids.push(...await t.site.submit('SRV-A', { to: ['user1@SRV-B'], count: 5000, subject: 'backlog', body: 'x'.repeat(1024) }))
      const pid = t.site.server('SRV-A').pid
      t.site.spawn('SRV-B')
      await t.site.waitReady('SRV-B')
      await waitFor(`SRV-A to kill itself at ${point}`, () => { try { process.kill(pid!, 0); return false } catch { return true } }, 60_000, 200)
      expect(t.logs('SRV-A').some(r => r.killAt === point)).toBe(true)
      await t.xcon('start', 'SRV-A')
      const more = await t.send('SRV-A', 'user1@SRV-B', 10, 'after the kill')
      await waitFor('20,010 on SRV-B', async () => (await allDeliveries(t, 'SRV-B')).length >= 20_010, 60_000, 500)
      expect(countByMtsId(await allDeliveries(t, 'SRV-B'))).toEqual(new Map([...ids, ...more].map(id => [id, 1])))
      await waitFor('SRV-A to have sent everything', async () => (await t.status('SRV-A')).queues[0].depth === 0)
      // A store that came back with the drained backlog would have sent it again: SRV-B would have suppressed each.
      expect((await t.status('SRV-B')).duplicatesSuppressed).toBe(0)
    })
  }
})
