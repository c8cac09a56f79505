import { createServer, connect, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { LinkState, partitionToxic } from '@xcon/core'
import { LinkProxy } from '../../packages/cli/src/links/link-proxy.js'

let echo: Server | undefined
let proxy: LinkProxy | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await proxy?.close()
  await new Promise<void>(resolve => { if (echo === undefined) resolve(); else echo.close(() => resolve()) })
  echo = proxy = undefined
})

/** A link A->B whose upstream echoes (or runs `serve`), with its proxy listening. */
async function setup (serve: (s: Socket) => void = s => s.pipe(s)): Promise<{ link: LinkState, p: LinkProxy }> {
  echo = createServer(s => { s.on('error', () => undefined); serve(s) })
  await new Promise<void>(resolve => echo!.listen(0, '127.0.0.1', () => resolve()))
  const port = (echo.address() as { port: number }).port
  const link = new LinkState('A', 'B', '127.0.0.1:0', `127.0.0.1:${port}`)
  proxy = new LinkProxy(link, { host: '127.0.0.1', port })
  await proxy.listen()
  return { link, p: proxy }
}

async function open (port: number): Promise<{ s: Socket, got: () => string, closed: Promise<string> }> {
  const s = connect(port, '127.0.0.1')
  sockets.push(s)
  let got = ''
  s.on('data', d => { got += d.toString() })
  const closed = new Promise<string>(resolve => {
    s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? ''}`))
    s.on('close', () => resolve('closed'))
  })
  await new Promise<void>((resolve, reject) => { s.once('connect', resolve); s.once('error', reject) })
  return { s, got: () => got, closed }
}

/** Connects, sends one line, and reports what came back within `waitMs` (or the error). */
async function roundTrip (port: number, waitMs = 300, text = 'ping'): Promise<string> {
  return await new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    sockets.push(s)
    let got = ''
    s.on('connect', () => s.write(text))
    s.on('data', d => { got += d.toString() })
    s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? ''}`))
    setTimeout(() => resolve(got === '' ? 'silence' : got), waitMs)
  })
}

const sleep = async (ms: number): Promise<void> => await new Promise(resolve => setTimeout(resolve, ms))

describe('link proxy (the toxic model on real sockets)', () => {
  it('passes bytes both ways and counts them per stream', async () => {
    const { p } = await setup()
    expect(await roundTrip(p.port)).toBe('ping')
    expect(p.counts.upstream).toEqual({ received: 4, sent: 4 })
    expect(p.counts.downstream).toEqual({ received: 4, sent: 4 })
  })

  it('is a black hole under the partition toxic (timeout 0 both ways), and passes again once it is removed', async () => {
    const { link, p } = await setup()
    link.addToxic(partitionToxic())
    expect(await roundTrip(p.port)).toBe('silence')
    expect(p.counts.upstream.sent).toBe(0)
    link.removeToxic('xcon_partition')
    expect(await roundTrip(p.port)).toBe('ping')
  })

  it('silences a connection that was open when the toxic came, withholds the peer\'s close, and ends it when the toxic goes', async () => {
    let server: Socket | undefined
    const { link, p } = await setup(s => { server = s; s.pipe(s) })
    const c = await open(p.port)
    c.s.write('one')
    await sleep(100)
    link.addToxic({ type: 'timeout', stream: 'downstream', attributes: { timeout: 0 } })
    c.s.write('two')
    await sleep(150)
    expect(c.got()).toBe('one')
    server!.destroy() // the peer goes: through a cut, its close never arrives
    await sleep(150)
    expect(c.s.destroyed).toBe(false)
    link.removeToxic('timeout_downstream')
    expect(await c.closed).toBe('closed')
  })

  it('a timeout above 0 ends the connection after that many ms', async () => {
    const { link, p } = await setup()
    link.addToxic({ type: 'timeout', attributes: { timeout: 200 } })
    const c = await open(p.port)
    const t0 = Date.now()
    expect(await c.closed).toBe('closed')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(150)
  })

  it('refuses connections while disabled, resets open ones, and listens again on the same port after', async () => {
    const { link, p } = await setup()
    const port = p.port
    const c = await open(port)
    link.setEnabled(false)
    await p.settled()
    expect(await c.closed).toMatch(/error ECONNRESET|closed/)
    expect(await roundTrip(port)).toBe('error ECONNREFUSED')
    link.setEnabled(true)
    await p.settled()
    expect(p.port).toBe(port)
    expect(await roundTrip(port)).toBe('ping')
  })

  it('adds latency to the bytes each way with stream both', async () => {
    const { link, p } = await setup()
    link.addToxic({ type: 'latency', stream: 'both', attributes: { latency: 150 } })
    const c = await open(p.port)
    const sent = Date.now()
    c.s.write('ping')
    const echoed = await new Promise<number>(resolve => c.s.once('data', () => resolve(Date.now())))
    expect(echoed - sent).toBeGreaterThanOrEqual(295) // there and back: never sooner than twice the delay
  })

  it('latency on one stream only delays that stream', async () => {
    const { link, p } = await setup()
    link.addToxic({ type: 'latency', stream: 'upstream', attributes: { latency: 200 } })
    const c = await open(p.port)
    const sent = Date.now()
    c.s.write('ping')
    const echoed = await new Promise<number>(resolve => c.s.once('data', () => resolve(Date.now())))
    expect(echoed - sent).toBeGreaterThanOrEqual(195)
    expect(echoed - sent).toBeLessThan(390)
  })

  it('limits bandwidth (rate in KB/s)', async () => {
    const { link, p } = await setup(s => s.on('data', () => undefined))
    link.addToxic({ type: 'bandwidth', stream: 'upstream', attributes: { rate: 100 } })
    const c = await open(p.port)
    c.s.write(Buffer.alloc(30_000))
    await sleep(100)
    expect(p.counts.upstream.received).toBe(30_000)
    expect(p.counts.upstream.sent).toBeLessThan(30_000) // 30 kB at 100 KB/s takes 300 ms
    await sleep(400)
    expect(p.counts.upstream.sent).toBe(30_000)
  })

  it('slices data into small writes (slicer)', async () => {
    const pieces: number[] = []
    const { link, p } = await setup(s => { s.setNoDelay(true); s.on('data', d => pieces.push(d.length)) })
    link.addToxic({ type: 'slicer', stream: 'upstream', attributes: { average_size: 10, size_variation: 0, delay: 20_000 } })
    const c = await open(p.port)
    c.s.write(Buffer.alloc(100))
    await sleep(600)
    expect(pieces.reduce((a, b) => a + b, 0)).toBe(100)
    expect(pieces.length).toBeGreaterThan(4)
  })

  it('closes the connection once limit_data bytes have passed', async () => {
    const { link, p } = await setup()
    link.addToxic({ type: 'limit_data', stream: 'downstream', attributes: { bytes: 6 } })
    const c = await open(p.port)
    c.s.write('0123456789')
    expect(await c.closed).toBe('closed')
    expect(c.got()).toBe('012345')
  })

  it('resets the connection (reset_peer)', async () => {
    const { link, p } = await setup()
    link.addToxic({ type: 'reset_peer', attributes: { timeout: 100 } })
    const c = await open(p.port)
    expect(await c.closed).toBe('error ECONNRESET')
  })

  it('delays the close (slow_close)', async () => {
    const { link, p } = await setup(s => { s.end('bye') })
    link.addToxic({ type: 'slow_close', stream: 'downstream', attributes: { delay: 300 } })
    const t0 = Date.now()
    const c = await open(p.port)
    expect(await c.closed).toBe('closed')
    expect(c.got()).toBe('bye')
    expect(Date.now() - t0).toBeGreaterThanOrEqual(250)
  })

  it('a toxic with toxicity 0 acts on no connection', async () => {
    const { link, p } = await setup()
    link.addToxic({ type: 'timeout', toxicity: 0, attributes: { timeout: 0 } })
    expect(await roundTrip(p.port)).toBe('ping')
  })
})
