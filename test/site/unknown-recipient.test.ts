import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, XCON, closeAllSites, siteYaml, waitFor } from '../support/site-harness.js'

const run = promisify(execFile)
afterEach(closeAllSites)

// An alias that no mailbox has: Exchange's directory knows every mailbox of the organisation, so
// the submitting MTA answers with an NDR (unrecognised-OR-name) and delivers to the others.
describe('a recipient the directory does not know', () => {
  it('gets a non-delivery report at once, said by xcon send, while the known recipient gets the message', async () => {
    const t = await TestSite.start(siteYaml(['SRV-A', 'SRV-B'], 'build: 2653, timeScale: 600, traffic: off, mailboxes: [alice, bob]'))
    const { stdout, stderr } = await run(process.execPath, [XCON, 'send', '--from', 'SRV-A', '--to', 'nobody@SRV-B', '--to', 'bob@SRV-B', '--subject', 'two recipients', '--data', t.site.dataDir])
    const mtsId = stdout.trim()
    expect(stderr).toBe('xcon: nobody@SRV-B: no mailbox nobody on SRV-B (it has alice, bob); a non-delivery report goes to administrator@SRV-A\n')
    await waitFor('the message for bob', async () => (await t.deliveries('SRV-B')).some(d => d.mtsId === mtsId && d.mailbox === 'bob'))
    await waitFor('the NDR for nobody', async () => (await t.deliveries('SRV-A')).some(d => d.kind === 'report' && d.subject === 'Undeliverable: two recipients'))
    expect((await t.deliveries('SRV-B')).filter(d => d.mtsId === mtsId).map(d => d.mailbox)).toEqual(['bob'])
    expect(t.logs('SRV-A').some(r => typeof r.msg === 'string' && r.msg.includes('unrecognised-OR-name'))).toBe(true)
    expect((await t.status('SRV-A')).ndrs).toBe(1)
  })

  it('says at once that an Internet address cannot go where no server runs an Internet Mail Service, and the sender gets the NDR', async () => {
    const t = await TestSite.start(siteYaml(['SRV-A', 'SRV-B'], 'build: 2653, timeScale: 600, traffic: off'))
    const { stdout, stderr } = await run(process.execPath, [XCON, 'send', '--from', 'SRV-A', '--to', 'someone@example.com', '--subject', 'to the Internet', '--data', t.site.dataDir])
    expect(stdout.trim()).toMatch(/^c=US;a= ;p=XCON;l=SRV-A-\d{12}Z-\d+$/)
    expect(stderr).toBe('xcon: someone@example.com: someone@example.com is an Internet address, and the organisation has no Internet Mail Service (add an ims: to a server of the topology); a non-delivery report goes to administrator@SRV-A\n')
    await waitFor('the NDR for someone@example.com', async () => (await t.deliveries('SRV-A')).some(d => d.kind === 'report' && d.subject === 'Undeliverable: to the Internet'))
  })
})
