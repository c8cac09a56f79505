import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, waitFor, siteYaml } from '../support/site-harness.js'

afterEach(closeAllSites)

const SITE = siteYaml(['SRV-A', 'SRV-B'], 'build: 2653, timeScale: 600, controlBlocks: 8, traffic: off')

describe('association security', () => {
  it('refuses a bind with the wrong site secret and logs 9297 on the receiver', async () => {
    const t = await TestSite.start(SITE, { env: { 'SRV-A': { XCON_SECRET: 'not-the-secret' } } })
    await t.send('SRV-A', 'user1@SRV-B', 1, 'intruder')
    const violation = await waitFor('9297 on SRV-B', () => t.logs('SRV-B', 9297)[0])
    expect(violation).toMatchObject({ type: 'Warning', category: 'Security', peer: 'SRV-A' })
    expect(violation.msg).toMatch(/^The user \/o=XCON\/ou=CORP\/cn=Configuration\/cn=Servers\/cn=SRV-A\/cn=Microsoft MTA has caused a security violation\. Locality table \(LTAB\) index: \d+\. Windows NT error code: 0\.$/)
    await waitFor('the caller to see its bind rejected', () => t.logs('SRV-A', 9318).some(r => r.outcome === 'bind-rejected'))
    expect(await t.deliveries('SRV-B')).toHaveLength(0)
    expect((await t.status('SRV-A')).queues[0].depth).toBe(1)
  })
})
