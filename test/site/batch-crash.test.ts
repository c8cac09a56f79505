import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, siteYaml, waitFor } from '../support/site-harness.js'

afterEach(closeAllSites)

const SITE = siteYaml(['SRV-A', 'SRV-B'], 'build: 2653, timeScale: 600, controlBlocks: 20, traffic: off')
const COUNT = 3000

function alive (pid: number | null): boolean {
  try { return pid !== null && process.kill(pid, 0) } catch { return false }
}

/**
 * Exactly-once across a kill -9 at each point of a transfer (docs/protocol.md): the MTA kills
 * itself there (XCON_KILL_AT) on the second transfer, is started again without it, and every
 * message arrives once.
 */
async function killedAt (point: string, victim: 'SRV-A' | 'SRV-B'): Promise<{ t: TestSite, ids: string[] }> {
  // The mail is stored at SRV-A first, with SRV-B down, so the kill never meets a submission.
  const t = await TestSite.start(SITE, { only: ['SRV-A'] })
  const ids = await t.send('SRV-A', 'user1@SRV-B', COUNT, 'batches')
  if (victim === 'SRV-A') {
    await t.site.stop('SRV-A')
    t.site.spawn('SRV-A', { XCON_KILL_AT: `${point}:2` })
    await t.site.waitReady('SRV-A')
  }
  t.site.spawn('SRV-B', victim === 'SRV-B' ? { XCON_KILL_AT: `${point}:2` } : {})
  const pid = t.site.server(victim).pid
  await waitFor(`${victim} to kill itself at ${point}`, () => !alive(pid), 30_000, 20)
  expect(t.logs(victim).some(r => r.killAt === point && r.msg === `XCON_KILL_AT: killing this MTA at ${point} (time 2)`)).toBe(true)
  await t.xcon('start', victim)
  await t.site.waitReady(victim === 'SRV-A' ? 'SRV-B' : 'SRV-A')
  await waitFor('SRV-A queue to drain', async () => (await t.status('SRV-A')).queues[0].depth === 0, 60_000)
  const counts = countByMtsId(await t.deliveries('SRV-B'))
  expect(counts.size).toBe(COUNT)
  expect(ids.every(id => counts.get(id) === 1)).toBe(true)
  expect((await t.status('SRV-B')).delivered).toBe(COUNT)
  return { t, ids }
}

describe('exactly once across kill -9 inside a transfer', () => {
  it('mid-transfer: the receiver dies with half a transfer written and not committed; nothing of it was stored, and it comes again', async () => {
    const { t } = await killedAt('mid-transfer', 'SRV-B')
    // Only the first transfer can have been committed and not acknowledged: at most its 256 come twice.
    expect((await t.status('SRV-B')).duplicatesSuppressed).toBeLessThanOrEqual(256)
  })

  it('after-commit: the receiver dies with a transfer durable and unacknowledged; it comes again and each message is a suppressed duplicate', async () => {
    const { t } = await killedAt('after-commit', 'SRV-B')
    expect((await t.status('SRV-B')).duplicatesSuppressed).toBeGreaterThanOrEqual(1)
    expect(t.logs('SRV-B').some(r => typeof r.msg === 'string' && r.msg.startsWith('duplicate of '))).toBe(true)
  })

  it('after-ack: the sender dies with an acknowledgement in hand and its queue not yet cleared; it sends again, and the receiver suppresses every copy', async () => {
    const { t } = await killedAt('after-ack', 'SRV-A')
    expect((await t.status('SRV-B')).duplicatesSuppressed).toBeGreaterThanOrEqual(1)
    // The sender checked its store after the kill (MTACHECK, 2219).
    expect(t.logs('SRV-A', 2219).length).toBeGreaterThanOrEqual(1)
  })

  it('refuses a kill point it does not know, naming the variable', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-A'] })
    t.site.spawn('SRV-B', { XCON_KILL_AT: 'lunchtime' })
    await expect(t.site.waitReady('SRV-B')).rejects.toThrow('XCON_KILL_AT: expected mid-transfer, after-commit, after-ack, mid-compaction, after-compaction and an optional :N (the Nth time), got "lunchtime"')
  })
})
