import { rmSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, waitFor } from '../support/site-harness.js'
import { canMountTmpfs, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js'

afterEach(async () => {
  unmountTmpfs()
  await closeAllSites()
})

const canMount = canMountTmpfs
if (!canMount) console.log('\n*** SKIPPING the full-disk tests: they need root to mount a small tmpfs ***\n')

const SITE = `sites:
  CORP:
    secret: change-me
    servers: [SRV-A, SRV-B]
defaults: { build: 2650, timeScale: 600, controlBlocks: 8, traffic: off }
servers:
  SRV-B: { ims: true }
`

describe('a full disk', () => {
  it.skipIf(!canMount)('stops intake with 9411 (507 at the admin API, 452 4.3.1 over SMTP), keeps what it holds, and takes mail again when space returns', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-A'] })
    // SRV-B's store lives on a 48 MB disk of its own.
    const dir = join(t.site.dataDir, 'data', 'SRV-B')
    mountTmpfs(dir, '48m')
    t.site.spawn('SRV-B')
    await t.site.waitReady('SRV-B')
    const before = await t.send('SRV-A', 'user1@SRV-B', 50, 'before')
    await waitFor('50 on SRV-B', async () => (await t.deliveries('SRV-B')).length === 50)

    // Fill the disk until 6 MB are left: under the 10 MB Exchange kept free.
    const s = statfsSync(dir)
    const filler = join(dir, 'filler')
    writeFileSync(filler, Buffer.alloc(Math.max(0, s.bavail * s.bsize - 6 * 1024 * 1024)))
    const event = await waitFor('9411 on SRV-B', () => t.logs('SRV-B', 9411)[0], 10_000)
    expect(event).toMatchObject({ type: 'Error', category: 'Field Engineering' })
    expect((await t.status('SRV-B')).intake.open).toBe(false)

    const b = t.site.server('SRV-B')
    const res = await fetch(`http://${b.adminHost}:${b.adminPort}/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ to: 'user2@SRV-B' }) })
    expect(res.status).toBe(507)
    expect(((await res.json()) as any).error.code).toBe('XCON_ERR_DISK_FULL')
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: (await t.status('SRV-B')).smtp.port, secure: false, ignoreTLS: true })
    const refused = await smtp.sendMail({ from: 'someone@example.test', to: 'user1@srv-b.xcon.test', subject: 'hi', text: 'hi' }).catch((e: { responseCode: number, response: string }) => e)
    expect(refused).toMatchObject({ responseCode: 452 })
    expect((refused as { response: string }).response).toContain('4.3.1 Insufficient system storage')

    // Mail from a peer waits on the peer, untouched, while the disk is full.
    const during = await t.send('SRV-A', 'user1@SRV-B', 100, 'during')
    await waitFor('SRV-A to hold them', async () => (await t.status('SRV-A')).queues[0].depth === 100)
    expect((await t.deliveries('SRV-B')).length).toBe(50)

    rmSync(filler)
    await waitFor('SRV-B taking mail again', async () => (await t.status('SRV-B')).intake.open, 15_000)
    await waitFor('150 on SRV-B', async () => (await t.deliveries('SRV-B')).length === 150, 30_000)
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map([...before, ...during].map(id => [id, 1])))
    expect((await t.status('SRV-A')).ndrs).toBe(0)
    expect((await t.status('SRV-B')).state).toBe('running')
    smtp.close()
    await t.site.kill('SRV-B')
  })

  it.skipIf(!canMount)('closes intake with 9411 and keeps running when its own intake fills the disk between two looks, answering 507 and never 500', async () => {
    // Issue #30: 12 MB free, just over the 10 MB reserve, and mail as fast as the MTA takes it.
    const t = await TestSite.start(SITE, { only: ['SRV-B'] })
    const dir = join(t.site.dataDir, 'data', 'SRV-A')
    mountTmpfs(dir, '24m')
    const s = statfsSync(dir)
    writeFileSync(join(dir, 'filler'), Buffer.alloc(Math.max(0, s.bavail * s.bsize - 12 * 1024 * 1024)))
    await t.site.kill('SRV-B')
    t.site.spawn('SRV-A')
    await t.site.waitReady('SRV-A')

    const a = t.site.server('SRV-A')
    const body = JSON.stringify({ to: 'user1@SRV-B', subject: 'fill', body: 'x'.repeat(64 * 1024) })
    const accepted: string[] = []
    const answers = new Map<number, number>()
    const errors = new Set<string>()
    // Four clients, each until its first refusal: bounded by the disk (24 MB) and by 400 requests.
    await Promise.all([0, 1, 2, 3].map(async () => {
      for (let i = 0; i < 100; i++) {
        const res = await fetch(`http://${a.adminHost}:${a.adminPort}/submit`, { method: 'POST', headers: { 'content-type': 'application/json' }, body })
        answers.set(res.status, (answers.get(res.status) ?? 0) + 1)
        const json = await res.json() as { mtsIds?: string[], error?: { code: string } }
        if (res.status === 200) accepted.push(...json.mtsIds!)
        else { errors.add(`${res.status} ${json.error?.code ?? ''}`); break }
      }
    }))
    expect([...errors]).toEqual(['507 XCON_ERR_DISK_FULL'])
    expect(answers.get(500)).toBeUndefined()
    expect(accepted.length).toBeGreaterThan(0)
    expect(t.logs('SRV-A', 9411).length).toBeGreaterThan(0)
    const status = await t.status('SRV-A')
    expect(status.state).toBe('running')
    expect(status.intake.open).toBe(false)
    // What it accepted, it holds: every one queued for SRV-B, and none of the refused.
    expect(status.queues[0].depth).toBe(accepted.length)
    expect(t.logs('SRV-A').filter(r => r.level >= 60)).toEqual([])

    // Space returns, the peer comes back: each accepted message arrives once.
    rmSync(join(dir, 'filler'))
    t.site.spawn('SRV-B')
    await t.site.waitReady('SRV-B')
    await waitFor('SRV-A taking mail again', async () => (await t.status('SRV-A')).intake.open, 15_000)
    await waitFor(`${accepted.length} on SRV-B`, async () => (await t.deliveries('SRV-B')).length >= accepted.length, 60_000)
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map(accepted.map(id => [id, 1])))
    expect((await t.status('SRV-A')).state).toBe('running')
  })
})
