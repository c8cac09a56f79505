import { createServer, connect, type Server, type Socket } from 'node:net'

/**
 * How a link behaves: `pass` forwards (after `latencyMs`); `blackhole` takes connections and
 * bytes and forwards nothing, so connects and heartbeats time out as on a cut cable; `refuse`
 * stops listening, so connects are refused.
 */
export type LinkMode = 'pass' | 'blackhole' | 'refuse'

/**
 * One directed link from one MTA to another: a TCP proxy that every association from `from` to
 * `to` passes through, in the spirit of Toxiproxy. Faults act on real sockets, not on a flag.
 */
export class LinkProxy {
  private server: Server | undefined
  private readonly pairs = new Set<[Socket, Socket | undefined]>()
  mode: LinkMode = 'pass'
  latencyMs = 0
  port = 0

  constructor (readonly from: string, readonly to: string, private readonly upstream: { host: string, port: number }) {}

  async listen (port = 0): Promise<number> {
    const server = createServer(client => this.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, '127.0.0.1', () => resolve())
    })
    this.server = server
    this.port = (server.address() as { port: number }).port
    return this.port
  }

  private accept (client: Socket): void {
    client.on('error', () => undefined)
    if (this.mode === 'blackhole') {
      client.on('data', () => undefined) // swallowed
      this.pairs.add([client, undefined])
      return
    }
    const upstream = connect(this.upstream.port, this.upstream.host)
    const pair: [Socket, Socket | undefined] = [client, upstream]
    this.pairs.add(pair)
    upstream.on('error', () => client.destroy())
    const forward = (to: Socket) => (data: Buffer): void => {
      if (this.mode !== 'pass') return // cut while open: the bytes vanish
      if (this.latencyMs > 0) setTimeout(() => to.write(data), this.latencyMs)
      else to.write(data)
    }
    client.on('data', forward(upstream))
    upstream.on('data', forward(client))
    const close = (): void => { this.pairs.delete(pair); client.destroy(); upstream.destroy() }
    client.on('close', close)
    upstream.on('close', close)
  }

  /** Changes the link; refusing closes the listener and resets what is open, passing reopens it. */
  async set (mode: LinkMode): Promise<void> {
    if (mode === this.mode) return
    const was = this.mode
    this.mode = mode
    if (mode === 'refuse') {
      for (const [a, b] of this.pairs) { a.resetAndDestroy(); b?.resetAndDestroy() }
      this.pairs.clear()
      await new Promise<void>(resolve => { this.server?.close(() => resolve()) })
      this.server = undefined
    } else if (was === 'refuse') {
      await this.listen(this.port)
    }
    if (mode === 'pass' && was === 'blackhole') {
      // Connections opened into the black hole never reached the peer: end them so the MTA retries.
      for (const pair of [...this.pairs]) if (pair[1] === undefined) { pair[0].destroy(); this.pairs.delete(pair) }
    }
  }

  async close (): Promise<void> {
    for (const [a, b] of this.pairs) { a.destroy(); b?.destroy() }
    this.pairs.clear()
    await new Promise<void>(resolve => { if (this.server === undefined) resolve(); else this.server.close(() => resolve()) })
  }
}
