import { mkdtempSync, rmSync, statfsSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { DISK_BALLAST_FILE, DiskGuard } from '@xcon/mta'
import { waitFor } from '../support/site-harness.js'

const dirs: string[] = []
afterEach(() => { for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true }) })

// The game day's full disk: a sparse file whose apparent size counts as used, and no real space taken.
describe('the disk ballast', () => {
  it('closes intake (9411) while it stands for the free space, and opens it again once removed', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-ballast-'))
    dirs.push(dir)
    const s = statfsSync(dir)
    const free = Number(s.bavail) * Number(s.bsize)
    const ballast = join(dir, DISK_BALLAST_FILE)
    writeFileSync(ballast, '')
    truncateSync(ballast, free)
    const lines: string[] = []
    const guard = new DiskGuard(dir, 10 * 1024 * 1024, pino({ level: 'info' }, { write: (l: string) => { lines.push(l) } }))
    await guard.start()
    try {
      expect(guard.intakeOpen).toBe(false)
      expect(lines.some(l => l.includes('"eventId":9411'))).toBe(true)
      rmSync(ballast)
      await waitFor('intake open again', () => guard.intakeOpen, 10_000)
    } finally {
      guard.stop()
    }
  })
})
