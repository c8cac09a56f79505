import { afterEach, describe, expect, it } from 'vitest'
import { LinkProxy } from '@xcon/cli'
import { LinkState, PARTITION_TOXIC, partitionToxic } from '@xcon/core'
import { TestSite, closeAllSites, countByMtsId, waitFor, siteYaml } from '../support/site-harness.js'

const proxies: LinkProxy[] = []
afterEach(async () => {
  await closeAllSites()
  for (const p of proxies.splice(0)) await p.close()
})

const site = (defaults: string): string => siteYaml(['SRV-A', 'SRV-B'], `build: 2653, controlBlocks: 8, traffic: off, ${defaults}`)

describe('faults', () => {
  it('detects a paused peer by heartbeat and times out, rather than being refused, when it opens to it', async () => {
    // timeScale 6: the association stays bound for 20 s of idle time, so the heartbeat has something to watch.
    const t = await TestSite.start(site('timeScale: 6'))
    await t.send('SRV-A', 'user1@SRV-B', 1)
    await waitFor('one delivery', async () => (await t.deliveries('SRV-B')).length === 1)
    expect((await t.status('SRV-A')).associations).toEqual([expect.objectContaining({ peer: 'SRV-B', direction: 'outbound', state: 'bound' })])

    await t.xcon('pause', 'SRV-B')
    const lost = await waitFor('2035 on SRV-A', () => t.logs('SRV-A', 2035)[0], 10_000)
    expect(lost).toMatchObject({ peer: 'SRV-B', outcome: 'timeout', direction: 'outbound' })
    expect(lost.msg).toContain('no heartbeat answer')

    await t.send('SRV-A', 'user2@SRV-B', 1)
    const failed = await waitFor('a timed-out open', () => t.logs('SRV-A', 9318).find(r => r.outcome === 'timeout'), 10_000)
    expect(failed.msg).toContain('Remote Server Name SRV-B (timeout:')
    expect(t.logs('SRV-A', 9215)).toHaveLength(0) // 9215 is for refused connections only
    await t.xcon('resume', 'SRV-B')
  })

  it('sends again, with no new mail to prompt it, what was in flight when an association was lost', async () => {
    // SRV-A reaches SRV-B through a link proxy. timeScale 60: an idle association stays 2 s.
    const t = await TestSite.start(site('timeScale: 60'), { only: ['SRV-B'] })
    const upstream = { host: '127.0.0.1', port: t.site.server('SRV-B').port }
    const link = new LinkState('SRV-A', 'SRV-B', '127.0.0.1:0', `127.0.0.1:${upstream.port}`)
    const proxy = new LinkProxy(link, upstream)
    proxies.push(proxy)
    await proxy.listen()
    t.site.spawn('SRV-A', { XCON_PEER_ADDRESSES: `SRV-B=127.0.0.1:${proxy.port}` })
    await t.site.waitReady('SRV-A')
    const first = await t.send('SRV-A', 'user1@SRV-B', 1)
    await waitFor('the first delivery', async () => (await t.deliveries('SRV-B')).length === 1)

    // Every queued message in flight on the bound association, and the link goes silent under it.
    link.addToxic(partitionToxic())
    const inFlight = await t.send('SRV-A', 'user1@SRV-B', 20)
    await waitFor('2035: the association lost by heartbeat', () => t.logs('SRV-A', 2035).find(r => r.peer === 'SRV-B'), 15_000)
    link.removeToxic(PARTITION_TOXIC)
    // Nothing else is sent to SRV-B: the twenty must go out again on their own.
    await waitFor('all 21 on SRV-B', async () => (await t.deliveries('SRV-B')).length >= 21, 30_000)
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map([...first, ...inFlight].map(id => [id, 1])))
  })

  it('logs 659 when a queue backs up past the alarm and 660 when it subsides', async () => {
    const t = await TestSite.start(site('timeScale: 600, queueAlarm: 6'), { only: ['SRV-A'] })
    await t.send('SRV-A', 'user1@SRV-B', 10)
    const backlogged = await waitFor('659 on SRV-A', () => t.logs('SRV-A', 659)[0])
    // The ten arrive in one durable batch, so the alarm sees them all at once.
    expect(backlogged.msg).toMatch(/^The queue for \/o=XCON\/ou=CORP\/cn=Configuration\/cn=Servers\/cn=SRV-B\/cn=Microsoft MTA is backlogged with (\d+) messages\.$/)
    expect(Number(/with (\d+) messages/.exec(backlogged.msg)![1])).toBeGreaterThanOrEqual(6)
    await t.xcon('start', 'SRV-B')
    const subsided = await waitFor('660 on SRV-A', () => t.logs('SRV-A', 660)[0])
    expect(subsided).toMatchObject({ eventId: 660, category: 'Resource', peer: 'SRV-B' })
    expect(subsided.msg).toMatch(/backlog has subsided leaving [0-2] messages\.$/)
  })

  it('answers mail with non-delivery reports after the last open retry (144 at the Exchange default)', async () => {
    // timeScale 60000 makes the 600 s open interval 10 ms, so 145 attempts take a couple of seconds.
    const t = await TestSite.start(site('timeScale: 60000'), { only: ['SRV-A'] })
    const ids = await t.send('SRV-A', 'user1@SRV-B', 3, 'never arrives')
    await waitFor('three NDRs on SRV-A', async () => (await t.status('SRV-A')).ndrs === 3, 30_000)
    expect(t.logs('SRV-A', 9318).length).toBe(145)
    const ndrs = t.logs('SRV-A', 290)
    expect(ndrs.map(r => r.mtsId).sort()).toEqual([...ids].sort())
    expect(ndrs[0]!.msg).toMatch(/^A non-delivery report with a reason code of unable-to-transfer and diagnostic code of maximum-time-expired was generated for message c=US;a= ;p=XCON;l=SRV-A-/)
    const reports = await waitFor('three reports in administrator@SRV-A', async () => {
      const d = (await t.deliveries('SRV-A')).filter(x => x.mailbox === 'administrator')
      return d.length === 3 ? d : undefined
    })
    expect(reports.every((r: any) => r.kind === 'report' && r.subject === 'Undeliverable: never arrives' && r.originator === 'system-attendant@SRV-A')).toBe(true)
    expect((await t.status('SRV-A')).queues[0].depth).toBe(0)
  })

  it('flaps a server: killed and started again, count times', async () => {
    const t = await TestSite.start(site('timeScale: 600'))
    const out = await t.xcon('flap', 'srv-b', '--down', '300ms', '--up', '300ms', '--count', '2')
    expect(out.trim().split('\n').map(l => l.replace(/^\S+ /, ''))).toEqual([
      'flap 1/2: SRV-B killed, down for 300 ms', 'flap 1/2: SRV-B up again, for 300 ms',
      'flap 2/2: SRV-B killed, down for 300 ms', 'flap 2/2: SRV-B up again'
    ])
    expect(t.logs('SRV-B', 9298)).toHaveLength(3)
    expect((await t.status('SRV-B')).state).toBe('running')
  })
})
