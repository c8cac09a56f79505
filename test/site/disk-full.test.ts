import { execFileSync } from 'node:child_process'
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import nodemailer from 'nodemailer'
import { afterEach, describe, expect, it } from 'vitest'
import { TestSite, closeAllSites, countByMtsId, waitFor } from '../support/site-harness.js'

const mounts: string[] = []
afterEach(async () => {
  // Lazily, so that a process still holding files there cannot keep the test's directory busy.
  for (const m of mounts.splice(0)) { try { execFileSync('umount', ['-l', m]) } catch { /* not mounted */ } }
  await closeAllSites()
})

/** Mounting a small tmpfs needs root (CI and these machines have it); say so loudly otherwise. */
const canMount = ((): boolean => {
  if (process.getuid?.() !== 0) return false
  const probe = `/tmp/xcon-mount-probe-${process.pid}`
  try {
    mkdirSync(probe, { recursive: true })
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=1m', 'tmpfs', probe])
    execFileSync('umount', [probe])
    return true
  } catch { return false } finally { rmSync(probe, { recursive: true, force: true }) }
})()
if (!canMount) console.log('\n*** SKIPPING the full-disk test: it needs root to mount a small tmpfs ***\n')

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
    mkdirSync(dir, { recursive: true })
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=48m', 'tmpfs', dir])
    mounts.push(dir)
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
})
