import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, waitFor, siteYaml } from '../support/site-harness.js'

afterEach(closeAllSites)

const SITE = siteYaml(['SRV-A', 'SRV-B'], 'build: 2653, timeScale: 600, controlBlocks: 20, traffic: off')

describe('crash recovery', () => {
  it('loses and duplicates nothing when the receiver is killed -9 mid-stream and restarted', async () => {
    const t = await TestSite.start(SITE)
    const sending = t.send('SRV-A', 'user1@SRV-B', 5000, 'stream')
    // Kill the receiver while the stream is arriving: after some, not all, have been stored.
    await waitFor('SRV-B to be mid-stream', async () => (await t.status('SRV-B')).delivered >= 200, 30_000, 5)
    await t.site.kill('SRV-B')
    const ids = await sending
    expect(ids).toHaveLength(5000)
    const stranded = (await t.status('SRV-A')).queues[0].depth
    expect(stranded).toBeGreaterThan(0)

    await t.xcon('start', 'SRV-B')
    await waitFor('SRV-A queue to drain', async () => (await t.status('SRV-A')).queues[0].depth === 0, 60_000)
    const counts = countByMtsId(await t.deliveries('SRV-B'))
    expect(counts.size).toBe(5000)
    expect(ids.every(id => counts.get(id) === 1)).toBe(true)
    expect((await t.status('SRV-B')).delivered).toBe(5000)
  })

  it('keeps queued mail across a kill -9 of the sender', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-A'] })
    const ids = await t.send('SRV-A', 'user1@SRV-B', 25, 'waiting')
    await t.xcon('kill', 'SRV-A')
    await t.xcon('start', 'SRV-A', 'SRV-B')
    await waitFor('25 on SRV-B', async () => (await t.deliveries('SRV-B')).length === 25)
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map(ids.map(id => [id, 1])))
    expect(t.logs('SRV-A').some(r => r.msg === 'queues restored from the store' && r.queues['server:SRV-B'] === 25)).toBe(true)
  })

  it('checks its store after a kill -9, as MTACHECK did (2219, 2206 per queue, 2207), and not after a clean stop', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-A'] })
    await t.send('SRV-A', 'user1@SRV-B', 25, 'waiting')
    await t.xcon('kill', 'SRV-A')
    await t.xcon('start', 'SRV-A')
    expect(t.logs('SRV-A', 2219)).toHaveLength(1)
    expect(t.logs('SRV-A', 2206)).toMatchObject([{ queue: 'server:SRV-B', messages: 25 }])
    expect(t.logs('SRV-A', 2206)[0]!.msg).toBe("Queue 'server:SRV-B' required reconstruction - 25 messages recovered to the queue.")
    expect(t.logs('SRV-A', 2207)).toMatchObject([{ queues: 1, messages: 25, removed: 0 }])
    expect((await t.status('SRV-A')).storeCheck).toMatchObject({ unclean: true, messages: 25, queues: { 'server:SRV-B': 25 } })

    await t.xcon('restart', 'SRV-A')
    expect(t.logs('SRV-A', 2219)).toHaveLength(1)
    expect((await t.status('SRV-A')).storeCheck).toMatchObject({ unclean: false, messages: 25 })
  })
})
