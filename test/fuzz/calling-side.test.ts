import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { Packr } from 'msgpackr'
import { WebSocketServer, type WebSocket } from 'ws'
import { bindProof } from '@xcon/core'
import { FUZZ_SEED, fuzzCount, KNOWN_CRASHERS, payload } from '../support/fuzz-inputs.js'
import { TestSite, closeAllSites, waitFor } from '../support/site-harness.js'

afterEach(closeAllSites)

const packr = new Packr({ useRecords: false })

describe('the calling side under a hostile listener', () => {
  it('survives whatever answers on a peer\'s port, and accounts for every message: sent, answered with an NDR, or still queued', async () => {
    // Whatever listens on SRV-B's port is this test: sometimes it answers the connect with a
    // random frame, sometimes it binds properly and answers transfers with random frames.
    const inputs = [...KNOWN_CRASHERS, ...fc.sample(payload, { numRuns: fuzzCount(1_500), seed: FUZZ_SEED + 1 })]
    let used = 0
    const wss = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    await new Promise(resolve => wss.once('listening', resolve))
    const port = (wss.address() as { port: number }).port
    wss.on('connection', (ws: WebSocket) => {
      ws.on('error', () => undefined)
      const input = inputs[used++ % inputs.length]!
      const later = (fn: () => void): void => { setTimeout(() => { try { fn() } catch { /* closed */ } }, 5) }
      if (used % 2 === 1) {
        ws.send(input)
        later(() => ws.terminate())
        return
      }
      const nonce = 'ab'.repeat(16)
      ws.send(packr.pack({ type: 'challenge', v: 2, server: 'SRV-B', nonce }))
      ws.on('message', (data: Buffer) => {
        const frame = packr.unpack(data) as { type: string, seq?: number, envelope?: { mtsId: string } }
        if (frame.type === 'bind') {
          ws.send(packr.pack({ type: 'bind_ok', server: 'SRV-B', site: 'CORP', build: 2653, proof: bindProof('change-me', 'bind-back', 'CORP', 'SRV-A', 'SRV-B', nonce) }))
        } else if (frame.type === 'transfer') {
          ws.send(input)
          later(() => ws.close())
        }
      })
    })
    const yaml = `sites:\n  CORP:\n    secret: change-me\n    servers: [SRV-A, SRV-B]\ndefaults: { build: 2653, timeScale: 60000, controlBlocks: 20, traffic: off }\nservers:\n  SRV-B: { port: ${port} }\n`
    const t = await TestSite.start(yaml, { only: ['SRV-A'] })
    let submitted = 0
    const deadline = Date.now() + 40_000 * Math.max(1, fuzzCount(1_000) / 1_000)
    while (used < inputs.length && Date.now() < deadline) {
      const s = await t.status('SRV-A')
      if (s.queues[0].depth < 200) { await t.send('SRV-A', 'user1@SRV-B', 500, 'fuzz'); submitted += 500 }
      await new Promise(resolve => setTimeout(resolve, 100))
    }
    expect(used).toBeGreaterThanOrEqual(inputs.length)
    await new Promise<void>(resolve => { for (const c of wss.clients) c.terminate(); wss.close(() => resolve()) })
    const settled = await waitFor('SRV-A to settle with nothing in flight', async () => {
      const s = await t.status('SRV-A')
      return s.queues[0].inFlight === 0 ? s : undefined
    })
    expect(settled.state).toBe('running')
    expect(t.logs('SRV-A').filter(r => r.level === 'fatal')).toEqual([])
    // Nothing vanished: each message was acknowledged, answered with an NDR, or waits.
    expect(settled.queues[0].sent + settled.ndrs + settled.queues[0].depth).toBe(submitted)
  })
})
