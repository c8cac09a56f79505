import { readFileSync } from 'node:fs'
import { createServer, type Server } from 'node:net'

/**
 * Ports are picked below the kernel's ephemeral range. A port found free there and let go of
 * stays free until the MTA binds it, because the kernel never hands it out by itself: not to
 * another `listen(0)`, and not as the local port of an outgoing connection. A port from
 * `listen(0)` is in the ephemeral range, and on a busy machine (a soak, a fuzz run beside it)
 * an outgoing connection took one in the second before the MTA bound it (CI, stop 18).
 */
const LOWEST = 10_000
const TRIES_PER_PORT = 20

/** The first port of the kernel's ephemeral range (Linux), else undefined. */
function ephemeralLow (): number | undefined {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    return Number.isInteger(low) && low > LOWEST + 1000 ? low : undefined
  } catch { return undefined }
}

async function hold (port: number): Promise<Server | undefined> {
  return await new Promise(resolve => {
    const srv = createServer()
    srv.once('error', () => resolve(undefined))
    srv.listen(port, '127.0.0.1', () => resolve(srv))
  })
}

/**
 * `count` distinct free TCP ports on loopback. All are held open until the last is found: a port
 * let go of at once may be handed out again by the next bind. Where the ephemeral range is not
 * known, or the ports below it are taken, the kernel picks.
 */
export async function freePorts (count: number): Promise<number[]> {
  const held: Server[] = []
  const high = ephemeralLow()
  if (high !== undefined) {
    const tried = new Set<number>()
    for (let i = 0; held.length < count && i < count * TRIES_PER_PORT; i++) {
      const port = LOWEST + Math.floor(Math.random() * (high - LOWEST))
      if (tried.has(port)) continue
      tried.add(port)
      const srv = await hold(port)
      if (srv !== undefined) held.push(srv)
    }
  }
  while (held.length < count) {
    const srv = await hold(0)
    if (srv === undefined) throw new Error('no free TCP port on 127.0.0.1')
    held.push(srv)
  }
  const ports = held.map(s => (s.address() as { port: number }).port)
  await Promise.all(held.map(async s => await new Promise(resolve => s.close(resolve))))
  return ports
}

/** One free TCP port on loopback. */
export async function freePort (): Promise<number> {
  return (await freePorts(1))[0]!
}

/** Whether `port` can be listened on now (on loopback). */
export async function portIsFree (port: number): Promise<boolean> {
  const srv = await hold(port)
  if (srv === undefined) return false
  await new Promise(resolve => srv.close(resolve))
  return true
}
