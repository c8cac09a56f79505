import { existsSync, mkdirSync, mkdtempSync, rmSync, statfsSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import type { Envelope } from '@xcon/core'
import { MtaStore } from '@xcon/mta'
import { canMountTmpfs, mountTmpfs, unmountTmpfs } from '../support/tmpfs.js'

const dirs: string[] = []
afterEach(() => {
  unmountTmpfs()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

function envelope (n: number): Envelope {
  return { mtsId: `c=US;a= ;p=XCON;l=SRV-A-261206000000Z-${n}`, originator: 'user1@SRV-A', recipients: ['user1@SRV-B'], priority: 'normal', submitTime: 0, subject: 's', kind: 'message', trace: [] }
}
const copy = (n: number) => ({ queue: 'SRV-B', envelope: envelope(n), content: new Uint8Array(1024), transferFailures: 0, enqueuedAt: 0 })
const fileBytes = (path: string): number => statSync(join(path, 'data.mdb')).size
const LATER = Date.now() + 60_000

/**
 * A store at `path` with one delivery (and its duplicate key), which must survive, and `count`
 * copies queued for SRV-B; `drain` removes them as acknowledged transfers of 256 would.
 */
async function backlog (path: string, count: number): Promise<{ store: MtaStore, drain: () => Promise<void> }> {
  const store = new MtaStore(path)
  await store.openAndCheck()
  await store.accept([{ envelope: envelope(-1), mailboxes: ['user1'], onward: [] }])
  const queued: Awaited<ReturnType<MtaStore['submit']>> = []
  for (let n = 0; n < count; n += 5000) queued.push(...await store.submit(Array.from({ length: Math.min(5000, count - n) }, (_, i) => copy(n + i)), []))
  const drain = async (): Promise<void> => {
    for (let i = 0; i < queued.length; i += 256) await store.dequeue(queued.slice(i, i + 256))
  }
  return { store, drain }
}

describe('store compaction', () => {
  it('gives a drained backlog\'s pages back to the disk when idle, and keeps every delivery, duplicate key and counter', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-compact-'))
    dirs.push(dir)
    const path = join(dir, 'store')
    const { store, drain } = await backlog(path, 30_000)
    // Not while anything is queued.
    expect(await store.compactIfIdle(LATER)).toBeUndefined()
    await drain()
    const before = fileBytes(path)
    expect(before).toBeGreaterThan(32 * 1024 * 1024)
    // Not right after a write: only an idle store compacts.
    expect(await store.compactIfIdle(Date.now())).toBeUndefined()

    const done = await store.compactIfIdle(LATER)
    expect(done).toMatchObject({ beforeBytes: before })
    expect(fileBytes(path)).toBeLessThan(1024 * 1024)
    expect(store.listDeliveries().map(d => d.mtsId)).toEqual([envelope(-1).mtsId])
    expect(store.counters.delivered).toBe(1)
    // The duplicate key is still known after the compaction.
    expect((await store.accept([{ envelope: envelope(-1), mailboxes: ['user1'], onward: [] }]))[0]!.duplicate).toBe(true)
    // Writes and reads go on, and a clean close and a reopen find the same store.
    const after = await store.submit([copy(99_999)], [])
    expect(store.readQueue('SRV-B', 10, () => false).map(r => r.seq)).toEqual(after.map(r => r.seq))
    await store.close()
    const reopened = new MtaStore(path)
    const check = await reopened.openAndCheck()
    expect(check).toMatchObject({ unclean: false, queues: { 'SRV-B': 1 } })
    expect(reopened.counters).toMatchObject({ delivered: 1, duplicatesSuppressed: 1 })
    await reopened.close()
  })

  it('leaves a small store alone, and removes a copy that a crash left behind', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-compact-'))
    dirs.push(dir)
    const path = join(dir, 'store')
    mkdirSync(`${path}.compact`, { recursive: true })
    writeFileSync(join(`${path}.compact`, 'data.mdb'), 'half a copy')
    const store = new MtaStore(path)
    expect(existsSync(`${path}.compact`)).toBe(false)
    await store.openAndCheck()
    await store.submit([copy(1)], [])
    await store.dequeue(store.readQueue('SRV-B', 10, () => false))
    expect(await store.compactIfIdle(LATER)).toBeUndefined()
    await store.close()
  })

  it.skipIf(!canMountTmpfs)('leaves the store as it was when there is no room for the copy, and tries again only after a while', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-compact-'))
    dirs.push(dir)
    mountTmpfs(dir, '96m')
    const path = join(dir, 'store')
    const { store, drain } = await backlog(path, 20_000)
    await drain()
    const before = fileBytes(path)
    // Not a byte left for the copy.
    const s = statfsSync(dir)
    writeFileSync(join(dir, 'filler'), new Uint8Array(Number(s.bavail) * Number(s.bsize)))
    await expect(store.compactIfIdle(LATER)).rejects.toThrow()
    expect(fileBytes(path)).toBe(before)
    expect(existsSync(`${path}.compact`)).toBe(false)
    expect(store.listDeliveries().map(d => d.mtsId)).toEqual([envelope(-1).mtsId])

    rmSync(join(dir, 'filler'))
    // A minute's wait after a failure, whatever the disk says.
    expect(await store.compactIfIdle(LATER + 1000)).toBeUndefined()
    expect(await store.compactIfIdle(LATER + 61_000)).toMatchObject({ beforeBytes: before })
    expect(store.listDeliveries().map(d => d.mtsId)).toEqual([envelope(-1).mtsId])
    await store.close()
  })
})
