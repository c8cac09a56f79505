import { createServer, connect, type Server, type Socket } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { LinkProxy } from '../../packages/cli/src/scenario/link-proxy.js'

let echo: Server | undefined
let proxy: LinkProxy | undefined
const sockets: Socket[] = []
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy()
  await proxy?.close()
  await new Promise<void>(resolve => { if (echo === undefined) resolve(); else echo.close(() => resolve()) })
  echo = proxy = undefined
})

async function setup (): Promise<LinkProxy> {
  echo = createServer(s => s.pipe(s))
  await new Promise<void>(resolve => echo!.listen(0, '127.0.0.1', () => resolve()))
  proxy = new LinkProxy('A', 'B', { host: '127.0.0.1', port: (echo.address() as { port: number }).port })
  await proxy.listen()
  return proxy
}

/** Connects, sends one line, and reports what came back within `waitMs` (or the error). */
async function roundTrip (port: number, waitMs = 300): Promise<string> {
  return await new Promise(resolve => {
    const s = connect(port, '127.0.0.1')
    sockets.push(s)
    let got = ''
    s.on('connect', () => s.write('ping'))
    s.on('data', d => { got += d.toString() })
    s.on('error', (err: NodeJS.ErrnoException) => resolve(`error ${err.code ?? ''}`))
    setTimeout(() => resolve(got === '' ? 'silence' : got), waitMs)
  })
}

describe('link proxy', () => {
  it('passes bytes both ways', async () => {
    const p = await setup()
    expect(await roundTrip(p.port)).toBe('ping')
  })

  it('turns into a black hole: the connection opens, nothing comes back', async () => {
    const p = await setup()
    await p.set('blackhole')
    expect(await roundTrip(p.port)).toBe('silence')
    await p.set('pass')
    expect(await roundTrip(p.port)).toBe('ping')
  })

  it('refuses connections when cut with refuse, and listens again on the same port after', async () => {
    const p = await setup()
    const port = p.port
    await p.set('refuse')
    expect(await roundTrip(port)).toBe('error ECONNREFUSED')
    await p.set('pass')
    expect(p.port).toBe(port)
    expect(await roundTrip(port)).toBe('ping')
  })

  it('silences a connection that was open when the link was cut', async () => {
    const p = await setup()
    const s = connect(p.port, '127.0.0.1')
    sockets.push(s)
    let got = ''
    s.on('data', d => { got += d.toString() })
    await new Promise(resolve => s.on('connect', resolve))
    s.write('one')
    await new Promise(resolve => setTimeout(resolve, 100))
    await p.set('blackhole')
    s.write('two')
    await new Promise(resolve => setTimeout(resolve, 200))
    expect(got).toBe('one')
  })

  it('adds its latency to the bytes each way', async () => {
    const p = await setup()
    p.latencyMs = 150
    const s = connect(p.port, '127.0.0.1')
    sockets.push(s)
    await new Promise(resolve => s.on('connect', resolve))
    const sent = Date.now()
    s.write('ping')
    const echoed = await new Promise<number>(resolve => s.once('data', () => resolve(Date.now())))
    expect(echoed - sent).toBeGreaterThanOrEqual(295) // there and back: never sooner than twice the delay (timer granularity aside)
  })
})
