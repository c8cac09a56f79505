import { describe, expect, it } from 'vitest'
import { queueHarness } from '../support/queue-harness.js'

describe('PeerQueue, its data plane on a memory store and SimulatedClock', () => {
  it('sends a message alone at once on an idle link, and removes it from the store only after the acknowledgement', async () => {
    const q = await queueHarness()
    const [record] = await q.submit(1)
    await q.settle()
    expect(q.sent.map(t => t.mtsIds)).toEqual([[record!.envelope.mtsId]])
    expect(q.queue.status()).toMatchObject({ depth: 1, inFlight: 1, state: 'bound', sent: 0 })
    expect(q.memory.depth).toBe(1)
    q.sent[0]!.answer(['accepted'])
    await q.settle()
    expect(q.memory.depth).toBe(0)
    expect(q.queue.status()).toMatchObject({ depth: 0, inFlight: 0, sent: 1 })
  })

  it('puts what was in flight on a lost association back at the front, in the order sent, without using a retry', async () => {
    const q = await queueHarness({ XCON_TRANSFER_BATCH: '2' })
    await q.submit(1)
    await q.settle()
    const records = await q.submit(4)
    await q.settle()
    const first = q.sent[0]!.assocId
    const order = q.sent.flatMap(t => t.mtsIds)
    expect(order).toHaveLength(5)
    q.breakAssociation(first)
    await q.settle()
    const again = q.sent.filter(t => t.assocId !== first)
    expect(again.length).toBeGreaterThan(0)
    expect(again.flatMap(t => t.mtsIds)).toEqual(order)
    for (const t of again) t.answer(t.mtsIds.map(() => 'accepted' as const))
    await q.settle()
    expect(q.memory.depth).toBe(0)
    expect(q.queue.status()).toMatchObject({ depth: 0, sent: 5, failedOpens: 0 })
    expect(records.every(r => r.transferFailures === 0)).toBe(true)
  })

  it('answers a definite refusal with an NDR, and retries a transient one after the transfer interval, counting it', async () => {
    const q = await queueHarness()
    await q.submit(1)
    await q.settle()
    q.sent[0]!.answer(['accepted'])
    const [doomed, unlucky] = await q.submit(2)
    await q.settle()
    const t = q.sent[1]!
    expect(t.mtsIds).toEqual([doomed!.envelope.mtsId, unlucky!.envelope.mtsId])
    t.answer([
      { mtsId: doomed!.envelope.mtsId, outcome: 'refused', code: 'XCON_ERR_LOOP_DETECTED', text: 'loop', definite: true },
      { mtsId: unlucky!.envelope.mtsId, outcome: 'refused', code: 'XCON_ERR_STORE_FAILED', text: 'disk I/O', definite: false }
    ])
    await q.settle()
    expect(q.ndrs).toEqual([{ mtsId: doomed!.envelope.mtsId, reason: 'unable-to-transfer', diagnostic: 'XCON_ERR_LOOP_DETECTED' }])
    expect(q.memory.depth).toBe(1)
    expect(q.queue.status()).toMatchObject({ depth: 1, inFlight: 0 })
    await q.advance(q.config.retry.transferIntervalMs - 100)
    expect(q.sent).toHaveLength(2)
    await q.advance(200)
    expect(q.sent.at(-1)!.mtsIds).toEqual([unlucky!.envelope.mtsId])
    q.sent.at(-1)!.answer(['accepted'])
    await q.settle()
    expect(q.memory.depth).toBe(0)
    expect(unlucky!.transferFailures).toBe(1)
  })

  it('holds a message the peer\'s full disk refused for the transfer interval, without using a retry', async () => {
    const q = await queueHarness()
    const [record] = await q.submit(1)
    await q.settle()
    q.sent[0]!.answer([{ mtsId: record!.envelope.mtsId, outcome: 'refused', code: 'XCON_ERR_DISK_FULL', text: '9411', definite: false }])
    await q.settle()
    expect(q.queue.status()).toMatchObject({ depth: 1, inFlight: 0 })
    await q.advance(q.config.retry.transferIntervalMs + 100)
    expect(q.sent.map(t => t.mtsIds)).toEqual([[record!.envelope.mtsId], [record!.envelope.mtsId]])
    expect(record!.transferFailures).toBe(0)
  })

  it('keeps at most the transfer window in flight, and refills it as answers come', async () => {
    const q = await queueHarness({ XCON_TRANSFER_WINDOW: '4', XCON_TRANSFER_BATCH: '1' })
    await q.submit(10)
    await q.settle()
    expect(q.sent).toHaveLength(4)
    expect(q.queue.status()).toMatchObject({ depth: 10, inFlight: 4 })
    q.sent[0]!.answer(['accepted'])
    await q.settle()
    expect(q.sent).toHaveLength(5)
    expect(q.queue.status()).toMatchObject({ depth: 9, inFlight: 4 })
  })

  it('sends a backlog it was given only as a count (a restart) from the store, each message once', async () => {
    const q = await queueHarness({ XCON_TRANSFER_WINDOW: '250', XCON_TRANSFER_BATCH: '64' })
    const records = await q.store.submit(Array.from({ length: 1000 }, (_, i) => ({
      queue: 'server:M2',
      envelope: { mtsId: `c=US;a= ;p=XCON;l=OLD-${i}`, originator: 'user1@M1', recipients: ['user2@M2'], priority: 'normal' as const, submitTime: 0, subject: '', kind: 'message' as const, trace: [] },
      content: new Uint8Array(10),
      transferFailures: 0,
      enqueuedAt: 0
    })), [])
    q.queue.restore(records.length)
    const seen = new Map<string, number>()
    for (let round = 0; round < 100 && q.memory.depth > 0; round++) {
      await q.settle()
      for (const t of q.sent.splice(0)) {
        for (const id of t.mtsIds) seen.set(id, (seen.get(id) ?? 0) + 1)
        t.answer(t.mtsIds.map(() => 'accepted' as const))
      }
    }
    expect(seen.size).toBe(1000)
    expect([...seen.values()].every(n => n === 1)).toBe(true)
    expect(q.queue.depth).toBe(0)
  })

  it('releases its association after the disconnect time with nothing to send, and opens again for new mail', async () => {
    const q = await queueHarness()
    await q.submit(1)
    await q.settle()
    q.sent[0]!.answer(['accepted'])
    await q.settle()
    expect(q.pool.getSnapshot().context.held.size).toBe(1)
    await q.advance(q.config.retry.disconnectMs + 100)
    expect(q.pool.getSnapshot().context.held.size).toBe(0)
    expect(q.queue.status().state).toBe('idle')
    await q.submit(1)
    await q.settle()
    expect(q.opens()).toBe(2)
    expect(q.sent).toHaveLength(2)
  })
})
