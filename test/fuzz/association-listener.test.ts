import { connect } from 'node:net'
import fc from 'fast-check'
import { afterEach, describe, expect, it } from 'vitest'
import { WebSocket } from 'ws'
import { KNOWN_CRASHERS, KNOWN_CRASHER_PATHS, FUZZ_SEED, fuzzCount, payload, upgradePath } from '../support/fuzz-inputs.js'
import { upgradeRequest } from '../support/raw-caller.js'
import { TestSite, closeAllSites, countByMtsId, siteYaml, waitFor } from '../support/site-harness.js'

afterEach(closeAllSites)

// SRV-B is pre-SP4 and leaks every failure it is allowed to: strangers must still not exhaust it.
const SITE = siteYaml(['SRV-A', 'SRV-B'], 'build: 2650, timeScale: 600, controlBlocks: 20, traffic: off, leak: { probability: 1 }')

/** Runs `fn` over `items`, `concurrency` at a time. */
async function inPool<T> (items: T[], concurrency: number, fn: (item: T) => Promise<void>): Promise<void> {
  let next = 0
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < items.length) await fn(items[next++]!)
  }))
}

/** One stranger: connects, waits for the challenge, sends `data`, and waits for the close (at most `ms`). */
async function stranger (port: number, data: Buffer, ms = 5000): Promise<number> {
  return await new Promise(resolve => {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/xcon/association`)
    const timer = setTimeout(() => { ws.terminate(); resolve(-1) }, ms)
    ws.on('error', () => undefined)
    ws.once('message', () => ws.send(data))
    ws.once('close', (code) => { clearTimeout(timer); resolve(code) })
  })
}

/** A raw HTTP upgrade request to `path`; resolves with the first status line (or '' if closed). */
async function rawUpgrade (port: number, path: string): Promise<string> {
  return await new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    let got = ''
    const timer = setTimeout(() => { s.destroy(); resolve(got) }, 3000)
    s.on('error', () => undefined)
    s.on('data', (d) => { got += d.toString('latin1'); s.destroy() })
    s.on('close', () => { clearTimeout(timer); resolve(got.split('\r\n', 1)[0] ?? '') })
    s.write(upgradeRequest(path))
  })
}

describe('the association listener under hostile input', () => {
  it('survives the inputs that crashed it, seeded random frames and upgrade paths, leaks only for binds that name a server of the site (9297, 4426), and keeps delivering', async () => {
    const t = await TestSite.start(SITE)
    const port = t.site.server('SRV-B').port
    const frames = [...KNOWN_CRASHERS, ...fc.sample(payload, { numRuns: fuzzCount(12_000), seed: FUZZ_SEED })]
    const codes = new Map<number, number>()
    await inPool(frames, 6, async data => {
      const code = await stranger(port, data)
      codes.set(code, (codes.get(code) ?? 0) + 1)
    })
    // Every stranger was answered with a close, none left hanging.
    expect(codes.get(-1) ?? 0).toBe(0)
    const paths = [...KNOWN_CRASHER_PATHS, ...fc.sample(upgradePath, { numRuns: fuzzCount(2_000), seed: FUZZ_SEED })]
    await inPool(paths, 6, async path => { await rawUpgrade(port, path) })
    // A socket refused for want of a control block, then sent an invalid WebSocket frame.
    const status = await t.status('SRV-B')
    expect(status.state).toBe('running')
    // The only leaks are the modelled ones: binds that named SRV-A of CORP and were refused, with a
    // wrong proof (security violations, 9297) or another protocol version (4426), follow the leak
    // policy as bind-rejected; strangers leak nothing.
    const refusedBinds = t.logs('SRV-B', 9297).length + t.logs('SRV-B').filter(r => r.code === 'XCON_ERR_PROTOCOL_VERSION').length
    expect(Object.keys(status.controlBlocks.leakedByKind).filter(k => k !== 'bind-rejected')).toEqual([])
    expect(status.controlBlocks.leaked).toBeLessThanOrEqual(refusedBinds)
    expect(t.logs('SRV-B').filter(r => r.level === 'fatal')).toEqual([])
    // The flood was summed up, not logged input by input.
    expect(t.logs('SRV-B', 4282).length).toBeLessThan(50)

    const ids = await t.send('SRV-A', 'user1@SRV-B', 20, 'after the fuzz')
    await waitFor('20 delivered on SRV-B', async () => (await t.deliveries('SRV-B')).length === 20)
    expect(countByMtsId(await t.deliveries('SRV-B'))).toEqual(new Map(ids.map(id => [id, 1])))
  })

  it('closes a socket refused with 4503 cleanly when it then sends an invalid WebSocket frame', async () => {
    const t = await TestSite.start(siteYaml(['SRV-A', 'SRV-B'], 'build: 2650, timeScale: 600, controlBlocks: 2, traffic: off'), { only: ['SRV-B'], env: { 'SRV-B': { XCON_MAX_UNBOUND: '5' } } })
    const port = t.site.server('SRV-B').port
    // The one free block is taken by a silent caller; the next is refused with 4503 and answers with garbage.
    const holder = new WebSocket(`ws://127.0.0.1:${port}/xcon/association`)
    holder.on('error', () => undefined)
    await new Promise(resolve => holder.once('message', resolve))
    const refused = new WebSocket(`ws://127.0.0.1:${port}/xcon/association`)
    refused.on('error', () => undefined)
    await new Promise(resolve => refused.once('upgrade', resolve))
    // An unmasked frame with reserved bits set: invalid from a client.
    ;(refused as unknown as { _socket: import('node:net').Socket })._socket.write(Buffer.from([0xff, 0x05, 1, 2, 3, 4, 5]))
    await new Promise(resolve => refused.once('close', resolve))
    holder.terminate()
    await waitFor('SRV-B answering', async () => (await t.status('SRV-B')).state === 'running')
    expect(t.logs('SRV-B').filter(r => r.level === 'fatal')).toEqual([])
  })

  it('closes silent TCP connections after the bind timeout and holds no control block for them', async () => {
    const t = await TestSite.start(SITE, { only: ['SRV-B'], env: { 'SRV-B': { XCON_BIND_TIMEOUT_MS: '500' } } })
    const port = t.site.server('SRV-B').port
    const sockets = Array.from({ length: 200 }, () => connect(port, '127.0.0.1').on('error', () => undefined))
    const closed = await Promise.all(sockets.map(async s => await new Promise<boolean>(resolve => {
      const timer = setTimeout(() => resolve(false), 10_000)
      s.once('close', () => { clearTimeout(timer); resolve(true) })
    })))
    expect(closed.every(Boolean)).toBe(true)
    const status = await t.status('SRV-B')
    expect(status.controlBlocks.inUse).toBe(0)
    expect(status.controlBlocks.leaked).toBe(0)
  })
})
