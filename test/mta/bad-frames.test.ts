import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { Packr } from 'msgpackr'
import { TestSite, closeAllSites, waitFor, siteYaml } from '../support/site-harness.js'

afterEach(closeAllSites)

const SITE = siteYaml(['SRV-A', 'SRV-B'], 'build: 2650, timeScale: 600, controlBlocks: 8, traffic: off')

/** Opens a raw association to an MTA, sends `payload` after the challenge, and returns the close code and reason. */
async function sendRaw (port: number, payload: Buffer): Promise<{ code: number, reason: string }> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/xcon/association`)
  return await new Promise((resolve, reject) => {
    ws.once('message', () => ws.send(payload))
    ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() }))
    ws.once('error', reject)
  })
}

describe('bad frames', () => {
  it('aborts the association on a malformed frame, logs 4282 with the reason, and keeps running', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-B'] })
    const port = t.site.server('SRV-B').port
    const closed = await sendRaw(port, new Packr({ useRecords: false }).pack({ type: 'transfer', seq: 1 }))
    expect(closed.code).toBe(4400)
    expect(closed.reason).toBe('transfer.messages: expected a list, got nothing')
    const logged = await waitFor('4282 on SRV-B', () => t.logs('SRV-B', 4282)[0])
    expect(logged).toMatchObject({ category: 'Interoperability', code: 'XCON_ERR_MALFORMED_FRAME' })
    expect(logged.msg).toContain('transfer.messages: expected a list, got nothing')

    const garbage = await sendRaw(port, Buffer.from([0xc1, 0x00, 0xff]))
    expect(garbage.code).toBe(4400)
    expect((await t.status('SRV-B')).state).toBe('running')
  })

  it('closes an association with 1009 on a frame over the size limit', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-B'], env: { 'SRV-B': { XCON_MAX_FRAME_BYTES: '4096' } } })
    const closed = await sendRaw(t.site.server('SRV-B').port, Buffer.alloc(10_000, 1))
    expect(closed.code).toBe(1009)
    await waitFor('4282 for the oversized frame', () => t.logs('SRV-B', 4282).some(r => r.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH'))
    expect((await t.status('SRV-B')).state).toBe('running')
  })

  it('refuses a bind that claims another site', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-B'] })
    const ws = new WebSocket(`ws://127.0.0.1:${t.site.server('SRV-B').port}/xcon/association`)
    const packr = new Packr({ useRecords: false })
    const closed = await new Promise<{ code: number, frames: any[] }>((resolve) => {
      const frames: any[] = []
      ws.on('message', (d: Buffer) => {
        frames.push(packr.unpack(d))
        if (frames.length === 1) ws.send(packr.pack({ type: 'bind', v: 1, server: 'EVIL', site: 'OTHER', build: 2650, proof: 'ab' }))
      })
      ws.once('close', (code) => resolve({ code, frames }))
    })
    expect(closed.code).toBe(4403)
    expect(closed.frames[1]).toMatchObject({ type: 'bind_error', code: 'XCON_ERR_WRONG_SITE' })
  })
})
