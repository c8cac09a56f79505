import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, waitFor, siteYaml } from '../support/site-harness.js'

afterEach(closeAllSites)

/**
 * KB Q260167 on real processes: SRV-A sends to SRV-C while SRV-C is down; on a pre-SP4 build
 * every failed attempt may keep a control block, until SRV-A cannot open an association to the
 * perfectly healthy SRV-B (9156). Restarting SRV-A resets the control blocks and the queues drain.
 * Six control blocks (five usable) and probability 1 keep the test short.
 */
const site = (build: number): string => siteYaml(['SRV-A', 'SRV-B', 'SRV-C'], `build: ${build}, timeScale: 600, controlBlocks: 6, traffic: off, leak: { probability: 1 }`)

describe('KB Q260167', () => {
  it('on build 2650: the MTA stops reaching a healthy peer after many failures, and a restart recovers it', async () => {
    const t = await TestSite.start(site(2650))
    const before = await t.send('SRV-A', 'user1@SRV-B', 5, 'before the outage')
    await waitFor('the first five on SRV-B', async () => (await t.deliveries('SRV-B')).length === 5)

    await t.xcon('kill', 'SRV-C')
    const toC = await t.send('SRV-A', 'user1@SRV-C', 3, 'to the dead peer')
    // Five usable blocks (six configured, one listening), each kept by a failed attempt to SRV-C.
    await waitFor('SRV-A to lose every control block', async () => (await t.status('SRV-A')).controlBlocks.leaked === 5)
    const a = await t.status('SRV-A')
    expect(a.controlBlocks).toMatchObject({ capacity: 6, free: 0, inUse: 0, leaked: 5 })
    expect(t.logs('SRV-A', 9318).length).toBeGreaterThanOrEqual(5)

    // SRV-B is healthy, yet SRV-A cannot open an association to it any more.
    const during = await t.send('SRV-A', 'user1@SRV-B', 5, 'during the outage')
    await waitFor('9156 for SRV-B on SRV-A', () => t.logs('SRV-A', 9156).some(r => r.peer === 'SRV-B'))
    expect(t.logs('SRV-A', 9156)[0]!.msg).toBe('A resource limit has been reached while attempting to open an association. There are no free control blocks available for network type 5. The configured count is 6. [BASE IL MAIN BASE 1 282] (10)')
    await waitFor('two failed opens to SRV-B', async () => (await t.status('SRV-A')).queues.find((q: any) => q.peer === 'SRV-B').failedOpens >= 2)
    expect((await t.status('SRV-B')).state).toBe('running')
    expect((await t.deliveries('SRV-B')).length).toBe(5)
    const blocked = (await t.status('SRV-A')).queues.find((q: any) => q.peer === 'SRV-B')
    expect(blocked).toMatchObject({ depth: 5, lastFailure: { reason: 'no free control blocks' } })

    // SRV-C comes back, but SRV-A still cannot reach anyone: only a restart helps.
    await t.xcon('start', 'SRV-C')
    await waitFor('another 9156 after SRV-C is back', async () => (await t.status('SRV-A')).controlBlocks.exhaustedCount >= 4)
    expect((await t.deliveries('SRV-C')).length).toBe(0)

    await t.xcon('restart', 'SRV-A')
    expect(t.logs('SRV-A', 9299)).toHaveLength(1)
    expect(t.logs('SRV-A', 9298)).toHaveLength(2)
    await waitFor('SRV-A queues to drain', async () => (await t.status('SRV-A')).queues.every((q: any) => q.depth === 0))
    const onB = countByMtsId(await t.deliveries('SRV-B'))
    const onC = countByMtsId(await t.deliveries('SRV-C'))
    expect([...before, ...during].map(id => onB.get(id))).toEqual(Array(10).fill(1))
    expect(toC.map(id => onC.get(id))).toEqual([1, 1, 1])
    expect(onB.size + onC.size).toBe(13)
    // Idle associations are released after the disconnect time (120 s / 600), then every block is free.
    await waitFor('every control block free on SRV-A', async () => (await t.status('SRV-A')).controlBlocks.free === 5)
    expect((await t.status('SRV-A')).controlBlocks).toMatchObject({ leaked: 0, inUse: 0 })
  })

  it('on build 2653 (SP4): the same failures never stop the MTA', async () => {
    const t = await TestSite.start(site(2653))
    await t.xcon('kill', 'SRV-C')
    const toC = await t.send('SRV-A', 'user1@SRV-C', 3, 'to the dead peer')
    // More failed opens than there are control blocks: a pre-SP4 MTA would be stuck by now.
    await waitFor('ten failed opens to SRV-C', async () => (await t.status('SRV-A')).queues.find((q: any) => q.peer === 'SRV-C').failedOpens >= 10)
    const ids = await t.send('SRV-A', 'user1@SRV-B', 5, 'during the outage')
    await waitFor('five on SRV-B', async () => (await t.deliveries('SRV-B')).length === 5)
    const a = await t.status('SRV-A')
    expect(a.controlBlocks).toMatchObject({ leaked: 0 })
    expect(t.logs('SRV-A', 9156)).toHaveLength(0)
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map(ids.map(id => [id, 1])))

    await t.xcon('start', 'SRV-C')
    await waitFor('the queue for SRV-C to drain without a restart', async () => (await t.deliveries('SRV-C')).length === 3)
    expect(countByMtsId(await t.deliveries('SRV-C'))).toEqual(new Map(toC.map(id => [id, 1])))
    expect(t.logs('SRV-A', 9298)).toHaveLength(1)
  })
})
