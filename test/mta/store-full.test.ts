import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import pino from 'pino'
import { afterEach, describe, expect, it } from 'vitest'
import { StoreFailedError, type Envelope } from '@xcon/core'
import { DiskGuard, MtaStore } from '@xcon/mta'
import { canMountTmpfs, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js'

if (!canMountTmpfs) console.log('\n*** SKIPPING the full-store tests: they need root to mount a small tmpfs ***\n')

const dirs: string[] = []
const stores: MtaStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close().catch(() => undefined)
  unmountTmpfs()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function envelope (n: number): Envelope {
  return { mtsId: `c=US;a= ;p=XCON;l=SRV-A-261206000000Z-${n}`, originator: 'user1@SRV-A', recipients: ['user1@SRV-B'], priority: 'normal', submitTime: 0, subject: 's', kind: 'message', trace: [] }
}
const copy = (n: number, bytes: number) => ({ queue: 'SRV-B', envelope: envelope(n), content: new Uint8Array(bytes), transferFailures: 0, enqueuedAt: 0 })

describe.skipIf(!canMountTmpfs)('a store whose disk fills', () => {
  it('fails the commit with StoreFailedError and its cause, counts nothing of it, and writes again once space returns', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-store-full-'))
    dirs.push(dir)
    mountTmpfs(dir, '4m')
    const store = new MtaStore(join(dir, 'store'))
    stores.push(store)
    await store.openAndCheck()
    const guard = new DiskGuard(dir, 0, pino({ level: 'silent' }))

    // No reserve and no look-ahead: only the commit itself can find the disk full.
    let failure: unknown
    let stored = 0
    for (let n = 0; n < 200 && failure === undefined; n++) {
      try { await store.submit([copy(n, 64 * 1024)], []); stored++ } catch (err) { failure = err }
    }
    expect(failure).toBeInstanceOf(StoreFailedError)
    expect((failure as StoreFailedError).code).toBe('XCON_ERR_STORE_FAILED')
    // LMDB's own "Commit failed" is unwrapped: the message names the cause, and the cause is kept.
    expect((failure as Error).message).not.toContain('see commitError')
    expect((failure as { cause?: unknown }).cause).toBeInstanceOf(Error)
    expect(guard.writeFailed(failure)).toBe(true)
    expect(guard.intakeOpen).toBe(false)

    // The refused copy is not queued: what the store reads back is what it acknowledged.
    expect(store.readQueue('SRV-B', 1000, () => false)).toHaveLength(stored)
    // Removing frees pages for reuse; the store takes writes again.
    await store.dequeue(store.readQueue('SRV-B', 1000, () => false))
    await store.submit([copy(1000, 1024)], [])
    expect(store.readQueue('SRV-B', 1000, () => false).map(r => r.envelope.mtsId)).toEqual([envelope(1000).mtsId])
  })

  it('is told by the guard before the commit when a batch would take the disk under the reserve', () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-store-full-'))
    dirs.push(dir)
    mountTmpfs(dir, '8m')
    writeFileSync(join(dir, 'filler'), new Uint8Array(5 * 1024 * 1024))
    const guard = new DiskGuard(dir, 2 * 1024 * 1024, pino({ level: 'silent' }))
    guard.assertRoom(1, 64 * 1024)
    expect(() => guard.assertRoom(10, 1024 * 1024)).toThrow(/XCON_ERR_DISK_FULL|not taking new mail/)
    expect(guard.intakeOpen).toBe(false)
    expect(guard.freeBytes).toBeLessThanOrEqual(3 * 1024 * 1024)
  })
})
