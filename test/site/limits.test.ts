import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, siteYaml, waitFor } from '../support/site-harness.js'

afterEach(closeAllSites)

// SRV-A is pre-SP4 and keeps every failed association's control block: a message that cannot
// be transferred and keeps failing would show up as a leak and, soon, a false Q260167.
const SITE = siteYaml(['SRV-A', 'SRV-B'], 'build: 2650, timeScale: 600, controlBlocks: 8, traffic: off, leak: { probability: 1 }, mailboxes: 300')

describe('sizes that agree end to end', () => {
  it('delivers messages to 150 and 300 recipients on one server exactly once, with no NDR', async () => {
    const t = await TestSite.start(SITE)
    const to = (n: number): string[] => Array.from({ length: n }, (_, i) => `user${i + 1}@SRV-B`)
    const a = await t.site.submit('SRV-A', { to: to(150), subject: '150' })
    const b = await t.site.submit('SRV-A', { to: to(300), subject: '300' })
    await waitFor('450 deliveries on SRV-B', async () => (await t.deliveries('SRV-B')).length === 450)
    await new Promise(resolve => setTimeout(resolve, 500))
    const deliveries = await t.deliveries('SRV-B')
    expect(countByMtsId(deliveries)).toEqual(new Map([[a[0], 150], [b[0], 300]]))
    expect(new Set(deliveries.map(d => `${d.mtsId} ${d.mailbox}`)).size).toBe(450)
    for (const name of ['SRV-A', 'SRV-B']) {
      const s = await t.status(name)
      expect(s.ndrs).toBe(0)
      expect(s.duplicatesSuppressed).toBe(0)
    }
  })

  it('moves 1.5 MB messages from a pre-SP4 sender without blocking its queue or leaking', async () => {
    const t = await TestSite.start(SITE)
    const big = await t.xcon('send', '--from', 'SRV-A', '--to', 'user1@SRV-B', '--count', '3', '--size', String(1_500_000), '--json')
    const small = await t.send('SRV-A', 'user2@SRV-B', 10, 'small')
    const ids = [...(JSON.parse(big) as { mtsIds: string[] }).mtsIds, ...small]
    await waitFor('13 on SRV-B', async () => (await t.deliveries('SRV-B')).length === 13)
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map(ids.map(id => [id, 1])))
    // A message leaves the sender's queue when the acknowledgement arrives, just after the
    // receiver shows it delivered.
    const a = await waitFor('SRV-A\'s queue empty', async () => { const s = await t.status('SRV-A'); return s.queues[0].depth === 0 ? s : undefined })
    expect(a.controlBlocks.leaked).toBe(0)
    expect(t.logs('SRV-A', 9156)).toEqual([])
  })

  it('cuts an overlong subject and refuses an overlong address at the door, so no frame a peer refuses is ever queued', async () => {
    const t = await TestSite.start(SITE)
    const [id] = await t.site.submit('SRV-A', { to: ['user1@SRV-B'], subject: 's'.repeat(10_000) })
    const [d] = await waitFor('the message on SRV-B', async () => { const l = await t.deliveries('SRV-B'); return l.length === 1 ? l : undefined })
    expect(d).toMatchObject({ mtsId: id, subject: 's'.repeat(4096) })
    const err = await t.site.submit('SRV-A', { to: [`${'x'.repeat(300)}@SRV-B`] }).catch((e: Error) => e.message)
    expect(err).toContain('longer than 256 characters')
    expect((await t.status('SRV-A')).controlBlocks.leaked).toBe(0)
  })

  it('refuses a message over the maximum size at the admin API and at xcon send, naming the limit', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-A'], env: { 'SRV-A': { XCON_MAX_MESSAGE_BYTES: '100000' } } })
    const err = await t.xcon('send', '--from', 'SRV-A', '--to', 'user1@SRV-B', '--size', '100001').catch((e: { stderr: string }) => e.stderr)
    expect(err).toContain('message of 100001 bytes is larger than the maximum message size of 100000 bytes')
    expect((await t.status('SRV-A')).limits.maxMessageBytes).toBe(100000)
  })

  it('answers with an NDR, and moves on, a message the receiving MTA will not take for its size', async () => {
    const t = await TestSite.start(SITE, { env: { 'SRV-B': { XCON_MAX_MESSAGE_BYTES: '1000000' } } })
    const [big] = await t.site.submit('SRV-A', { to: ['user1@SRV-B'], body: 'x'.repeat(1_500_000), subject: 'too big for SRV-B' })
    const small = await t.send('SRV-A', 'user2@SRV-B', 5, 'small')
    await waitFor('5 small ones on SRV-B', async () => (await t.deliveries('SRV-B')).length === 5)
    const ndr = await waitFor('290 for the big one', () => t.logs('SRV-A', 290).find(r => r.mtsId === big))
    expect(ndr.msg).toContain('XCON_ERR_MESSAGE_TOO_LARGE')
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map(small.map(id => [id, 1])))
    // The report reached the originator's server as mail of its own.
    await waitFor('the NDR delivered on SRV-A', async () => (await t.deliveries('SRV-A')).some(d => d.kind === 'report' && d.subject.includes('too big for SRV-B')))
    expect((await t.status('SRV-A')).controlBlocks.leaked).toBe(0)
  })

  it('sends again one per transfer what a peer with a smaller frame limit refused as a batch (1009), and answers only the message too large by itself', async () => {
    const t = await TestSite.start(SITE, { env: { 'SRV-B': { XCON_MAX_FRAME_BYTES: '100000' } } })
    const before = await t.send('SRV-A', 'user2@SRV-B', 300, 'small')
    const [big] = await t.site.submit('SRV-A', { to: ['user1@SRV-B'], body: 'x'.repeat(150_000), subject: 'too big a frame for SRV-B' })
    const after = await t.send('SRV-A', 'user2@SRV-B', 50, 'small')
    await waitFor('350 small ones on SRV-B', async () => (await t.deliveries('SRV-B')).length === 350, 60_000)
    const ndr = await waitFor('290 for the big one', () => t.logs('SRV-A', 290).find(r => r.mtsId === big))
    expect(ndr.msg).toContain('XCON_ERR_MESSAGE_TOO_LARGE')
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map([...before, ...after].map(id => [id, 1])))
    await waitFor('SRV-A queue empty', async () => (await t.status('SRV-A')).queues[0].depth === 0)
  })
})
