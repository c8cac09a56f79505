import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, waitFor, siteYaml } from '../support/site-harness.js'

afterEach(closeAllSites)

const SITE = siteYaml(['SRV-A', 'SRV-B', 'SRV-C'], 'build: 2650, timeScale: 600, controlBlocks: 8, traffic: off')

describe('a three-server site', () => {
  it('delivers mail between every pair of servers exactly once, with its trace', async () => {
    const t = await TestSite.start(SITE)
    const sent = new Map<string, string[]>([['SRV-A', []], ['SRV-B', []], ['SRV-C', []]])
    for (const from of ['SRV-A', 'SRV-B', 'SRV-C']) {
      for (const to of ['SRV-A', 'SRV-B', 'SRV-C']) {
        sent.get(to)!.push(...await t.send(from, `user1@${to}`, 20, `${from} to ${to}`))
      }
    }
    for (const [server, ids] of sent) {
      const got = await waitFor(`${ids.length} deliveries on ${server}`, async () => {
        const d = await t.deliveries(server)
        return d.length >= ids.length ? d : undefined
      })
      const counts = countByMtsId(got)
      expect(got).toHaveLength(60)
      expect(ids.every(id => counts.get(id) === 1)).toBe(true)
    }
    const fromB = (await t.deliveries('SRV-C')).find(d => d.mtsId.includes('l=SRV-B-'))!
    expect(fromB.hops).toEqual(['SRV-B', 'SRV-C'])
    for (const s of ['SRV-A', 'SRV-B', 'SRV-C']) {
      const st = await t.status(s)
      expect(st.queues.map((q: { depth: number }) => q.depth)).toEqual([0, 0])
      expect(st.duplicatesSuppressed).toBe(0)
    }
  })

  it('prints MTS-IDs from xcon send and refuses an unknown MTA name clearly', async () => {
    const t = await TestSite.start(SITE)
    const json = JSON.parse(await t.xcon('send', '--from', 'srv-a', '--to', 'user2@SRV-B', '--count', '3', '--json')) as { mtsIds: string[] }
    expect(json.mtsIds).toHaveLength(3)
    expect(json.mtsIds[0]).toMatch(/^c=US;a= ;p=XCON;l=SRV-A-\d{12}Z-\d+$/)
    await expect(t.xcon('send', '--from', 'SRV-Q', '--to', 'user2@SRV-B')).rejects.toMatchObject({ stderr: 'xcon: unknown MTA "SRV-Q": the site has SRV-A, SRV-B, SRV-C\n' })
    await expect(t.xcon('send', '--from', 'SRV-A', '--to', 'user2@SRV-Q')).rejects.toMatchObject({ stderr: expect.stringContaining('invalid address "user2@SRV-Q": no server SRV-Q in the organisation') })
    await waitFor('three deliveries on SRV-B', async () => (await t.deliveries('SRV-B')).length === 3)
  })

  it('reports every MTA in xcon status --json with the documented fields', async () => {
    const t = await TestSite.start(SITE)
    const { mtas } = JSON.parse(await t.xcon('status', '--json')) as { mtas: Array<Record<string, any>> }
    expect(mtas.map(m => m.name)).toEqual(['SRV-A', 'SRV-B', 'SRV-C'])
    for (const m of mtas) {
      expect(m).toMatchObject({ site: 'CORP', build: 2650, state: 'running', delivered: 0, duplicatesSuppressed: 0, ndrs: 0 })
      expect(m.controlBlocks).toMatchObject({ capacity: 8, free: 7, inUse: 0, leaked: 0 })
      expect(m.queues).toEqual([expect.objectContaining({ peer: expect.any(String), depth: 0 }), expect.objectContaining({ depth: 0 })])
    }
    await t.xcon('kill', 'SRV-C')
    const after = JSON.parse(await t.xcon('status', '--json')) as { mtas: Array<Record<string, any>> }
    expect(after.mtas[2]).toMatchObject({ name: 'SRV-C', state: 'down', controlBlocks: null })
  })
})
