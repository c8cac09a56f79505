import { afterEach, describe, expect, it } from 'vitest'
import { Packr } from 'msgpackr'
import { WebSocket, WebSocketServer } from 'ws'
import { bindProof } from '@xcon/core'
import { TestSite, closeAllSites, waitFor } from '../support/site-harness.js'

const packr = new Packr({ useRecords: false })
const servers: WebSocketServer[] = []
afterEach(async () => {
  for (const s of servers.splice(0)) await new Promise(resolve => { for (const c of s.clients) c.terminate(); s.close(resolve) })
  await closeAllSites()
})

const yaml = (extra = ''): string => `sites:\n  LAB:\n    secret: k3y\n    servers: [EAST, WEST]\ndefaults: { build: 2653, timeScale: 600, controlBlocks: 8, traffic: off }\n${extra}`

describe('the association protocol version', () => {
  it('refuses a bind of version 1 with bind_error XCON_ERR_PROTOCOL_VERSION and close 4426, and keeps running', async () => {
    const t = await TestSite.start(yaml(), { only: ['WEST'] })
    const ws = new WebSocket(`ws://127.0.0.1:${t.site.server('WEST').port}/xcon/association`)
    const closed = await new Promise<{ code: number, frames: any[] }>((resolve) => {
      const frames: any[] = []
      ws.on('message', (d: Buffer) => {
        const frame = packr.unpack(d)
        frames.push(frame)
        if (frame.type === 'challenge') {
          // A correct proof from a server of the site: only the version is wrong.
          ws.send(packr.pack({ type: 'bind', v: 1, server: 'EAST', site: 'LAB', build: 2653, proof: bindProof('k3y', 'bind', 'LAB', 'EAST', 'WEST', frame.nonce) }))
        }
      })
      ws.once('close', (code) => resolve({ code, frames }))
    })
    expect(closed.frames[0]).toMatchObject({ type: 'challenge', v: 2 })
    expect(closed.code).toBe(4426)
    expect(closed.frames[1]).toEqual({ type: 'bind_error', code: 'XCON_ERR_PROTOCOL_VERSION', text: 'EAST speaks association protocol version 1; this MTA speaks version 2 only' })
    await waitFor('the refusal in the log', () => t.logs('WEST').find(r => r.code === 'XCON_ERR_PROTOCOL_VERSION'))
    expect((await t.status('WEST')).state).toBe('running')
  })

  it('binds nothing to a listener of version 1, says so, and keeps the mail queued', async () => {
    const old = new WebSocketServer({ port: 0, host: '127.0.0.1' })
    servers.push(old)
    await new Promise(resolve => old.once('listening', resolve))
    old.on('connection', ws => { ws.on('error', () => undefined); ws.send(packr.pack({ type: 'challenge', v: 1, server: 'WEST', nonce: 'ab'.repeat(16) })) })
    const t = await TestSite.start(yaml(`servers:\n  WEST: { port: ${(old.address() as { port: number }).port} }\n`), { only: ['EAST'] })
    await t.send('EAST', 'user1@WEST', 1, 'waits')
    const line = await waitFor('the refusal in the log', () => t.logs('EAST').find(r => r.code === 'XCON_ERR_PROTOCOL_VERSION'))
    expect(line.msg).toBe('WEST speaks association protocol version 1; this MTA speaks version 2 only')
    const s = await t.status('EAST')
    expect(s.state).toBe('running')
    expect(s.queues[0]).toMatchObject({ peer: 'WEST', depth: 1, sent: 0 })
    expect(s.queues[0].lastFailure.reason).toContain('protocol version 1')
  })
})
