import { connect } from 'node:net'
import { WebSocket } from 'ws'
import { BenchSite, until } from './bench-site.js'

export interface SlowCallers {
  seconds: number
  /** SRV-B's messages to SRV-A while three strangers held every place of callers still binding. */
  messages: number
  delayMedianMs: number
  delayMaxMs: number
  /** Connections the strangers made (each reopened the moment SRV-A closed it). */
  strangerConnections: number
  /** Control blocks SRV-B (pre-SP4) lost meanwhile: each refusal is a failed association it may leak for. */
  peerLeaked: number
  /** Twenty callers refused with 4429 that never answer the close: how long SRV-A held each socket. */
  refusedHeldMedianMs: number
  refusedHeldMaxMs: number
}

const SITE = 'sites:\n  CORP: { secret: bench, servers: [SRV-A, SRV-B] }\ndefaults: { build: 2650, timeScale: 600, controlBlocks: 8, traffic: off }\n'
const UPGRADE = 'GET /xcon/association HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n'

/** How long the bench waits for the MTA to end a refused caller's socket (a figure of this means: not ended). */
const REFUSED_WAIT_MS = 10_000

function median (xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] ?? 0
}

/**
 * Issue #30's slow callers, measured: three strangers upgrade to a WebSocket on SRV-A (pre-SP4,
 * 8 control blocks, so 3 places for callers still binding) and never bind, reopening whenever
 * SRV-A closes one, for `seconds`, while SRV-B sends SRV-A one message a second: the delay from
 * submission to delivery. Then twenty callers refused with 4429 that never answer the close frame:
 * how long SRV-A keeps each socket (ws alone would wait 30 s).
 */
export async function slowCallers (seconds = 30): Promise<SlowCallers> {
  const b = await BenchSite.start(SITE)
  const sockets = new Set<WebSocket | import('node:net').Socket>()
  try {
    const port = b.site.server('SRV-A').port!
    let stopped = false
    let strangerConnections = 0
    const stranger = (): void => {
      if (stopped) return
      strangerConnections++
      const ws = new WebSocket(`ws://127.0.0.1:${port}/xcon/association`)
      sockets.add(ws)
      ws.on('error', () => undefined)
      ws.once('close', () => { sockets.delete(ws); stranger() })
    }
    for (let i = 0; i < 3; i++) stranger()
    await until('three strangers binding on SRV-A', async () => (await b.status('SRV-A')).inboundUnbound === 3, 10_000)
    for (let i = 0; i < seconds; i++) {
      await b.site.submit('SRV-B', { to: ['user1@SRV-A'], subject: `slow ${i}` })
      await new Promise(resolve => setTimeout(resolve, 1000))
    }
    await until(`${seconds} on SRV-A`, async () => (await b.deliveries('SRV-A')).length >= seconds, 60_000, 250)
    stopped = true
    const delays = (await b.deliveries('SRV-A')).map(d => d.at - d.submitted)
    const peerLeaked = (await b.status('SRV-B')).controlBlocks.leaked

    // A fresh SRV-A with one place for callers binding, held, and a grace no caller outlives: every newcomer is refused.
    await b.site.stop('SRV-A')
    b.site.spawn('SRV-A', { XCON_MAX_UNBOUND: '1', XCON_BIND_GRACE_MS: '600000', XCON_BIND_TIMEOUT_MS: '60000' })
    await b.site.waitReady('SRV-A')
    const holder = new WebSocket(`ws://127.0.0.1:${port}/xcon/association`)
    holder.on('error', () => undefined)
    sockets.add(holder)
    await until('the one place taken', async () => (await b.status('SRV-A')).inboundUnbound === 1, 10_000)
    const held = await Promise.all(Array.from({ length: 20 }, async () => await new Promise<number>(resolve => {
      const started = Date.now()
      const s = connect(port, '127.0.0.1')
      sockets.add(s)
      const timer = setTimeout(() => { s.destroy(); resolve(REFUSED_WAIT_MS) }, REFUSED_WAIT_MS)
      s.on('error', () => undefined)
      // Read what comes (and drop it): a socket that is never read never sees the MTA's end of it.
      s.on('data', () => undefined)
      s.once('connect', () => s.write(UPGRADE))
      s.once('close', () => { clearTimeout(timer); resolve(Date.now() - started) })
    })))
    return {
      seconds,
      messages: delays.length,
      delayMedianMs: median(delays),
      delayMaxMs: Math.max(...delays),
      strangerConnections,
      peerLeaked,
      refusedHeldMedianMs: median(held),
      refusedHeldMaxMs: Math.max(...held)
    }
  } finally {
    for (const s of sockets) { if (s instanceof WebSocket) s.terminate(); else s.destroy() }
    await b.close()
  }
}
