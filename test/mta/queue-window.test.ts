import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, describe, expect, it } from 'vitest'
import { MtaStore } from '@xcon/mta'
import { QueueWindow, type QueuedMessage } from '@xcon/core'
import type { Envelope, Priority } from '@xcon/core'

const dirs: string[] = []
const stores: MtaStore[] = []
afterEach(async () => {
  for (const s of stores.splice(0)) await s.close()
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true })
})

async function storeWith (count: number, priority: (i: number) => Priority): Promise<{ store: MtaStore, records: QueuedMessage[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'xcon-window-'))
  dirs.push(dir)
  const store = new MtaStore(join(dir, 'store'))
  stores.push(store)
  await store.openAndCheck()
  const queued = Array.from({ length: count }, (_, i) => {
    const envelope: Envelope = { mtsId: `m${i}`, originator: 'a@SRV-A', recipients: ['b@SRV-B'], priority: priority(i), submitTime: 0, subject: '', kind: 'message', trace: [] }
    return { queue: 'server:SRV-B', envelope, content: new Uint8Array(8), transferFailures: 0, enqueuedAt: 0 }
  })
  return { store, records: await store.submit(queued, []) }
}

describe('QueueWindow', () => {
  it('hands out a backlog from disk a window at a time: urgent first, each message once', async () => {
    const { store } = await storeWith(3000, i => i % 10 === 0 ? 'urgent' : i % 10 === 1 ? 'nonurgent' : 'normal')
    // What the queue took out is in flight: still in the store, held in memory by the queue.
    const inFlight = new Set<number>()
    const window = new QueueWindow('server:SRV-B', store, 100, seq => inFlight.has(seq))
    window.restore(3000)
    expect(window.length).toBe(3000)
    const seen: string[] = []
    for (let m = window.shift(); m !== undefined; m = window.shift()) { inFlight.add(m.seq); seen.push(m.envelope.mtsId) }
    expect(seen).toHaveLength(3000)
    expect(new Set(seen).size).toBe(3000)
    const rank = (id: string): number => { const i = Number(id.slice(1)); return i % 10 === 0 ? 0 : i % 10 === 1 ? 2 : 1 }
    expect(seen.map(rank)).toEqual([...seen.map(rank)].sort((a, b) => a - b))
  })

  it('never takes a message twice in one take, even across refills, and passes over what the queue holds', async () => {
    const { store, records } = await storeWith(700, () => 'normal')
    const held = new Set(records.slice(0, 50).map(r => r.seq))
    const window = new QueueWindow('server:SRV-B', store, 64, seq => held.has(seq))
    window.restore(650)
    const taken = window.take(500)
    expect(taken).toHaveLength(500)
    expect(new Set(taken.map(t => t.seq)).size).toBe(500)
    expect(taken.some(t => held.has(t.seq))).toBe(false)
  })
})
