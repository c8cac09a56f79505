import { createServer, connect, type Server, type Socket } from 'node:net'
import type { LinkChange, LinkState } from '@xcon/core'
import { ProxiedConnection } from './proxied-connection.js'
import type { ByteCounts } from './toxic-pipe.js'

/**
 * The TCP proxy of one directed link: every association `from` opens to `to` passes through it,
 * so faults act on real sockets, not on a flag. It follows its `LinkState`: disabled, it stops
 * listening (connects are refused) and resets what is open, as Toxiproxy's disabled proxy does;
 * enabled again, it listens on the same port; a toxic acts on the connections it is drawn for.
 */
export class LinkProxy {
  private server: Server | undefined
  private readonly connections = new Set<ProxiedConnection>()
  /** Bytes per stream, as Toxiproxy's toxiproxy_proxy_{received,sent}_bytes_total count them. */
  readonly counts: Record<'upstream' | 'downstream', ByteCounts> = { upstream: { received: 0, sent: 0 }, downstream: { received: 0, sent: 0 } }
  port = 0
  /** Changes to the listener run one after another; `settled()` waits for the last. */
  private pending: Promise<void> = Promise.resolve()

  constructor (readonly link: LinkState, private readonly upstream: { host: string, port: number }, private readonly host = '127.0.0.1') {
    link.onChange(change => this.apply(change))
  }

  get from (): string { return this.link.from }
  get to (): string { return this.link.to }

  async listen (port = 0): Promise<number> {
    const server = createServer({ allowHalfOpen: true }, client => this.accept(client))
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, this.host, () => { server.off('error', reject); resolve() })
    })
    server.on('error', () => undefined)
    this.server = server
    this.port = (server.address() as { port: number }).port
    return this.port
  }

  /** Resolves once every change made so far has reached the listener and the connections. */
  async settled (): Promise<void> {
    await this.pending
  }

  private accept (client: Socket): void {
    client.on('error', () => undefined)
    const upstream = connect({ port: this.upstream.port, host: this.upstream.host, allowHalfOpen: true })
    upstream.setNoDelay(true)
    client.setNoDelay(true)
    const conn: ProxiedConnection = new ProxiedConnection(client, upstream, this.link, this.counts, () => this.connections.delete(conn))
    this.connections.add(conn)
  }

  private apply (change: LinkChange): void {
    switch (change.kind) {
      case 'toxic-added': for (const c of this.connections) c.toxicAdded(change.toxic); return
      case 'toxic-updated': for (const c of this.connections) c.toxicUpdated(change.toxic); return
      case 'toxic-removed': for (const c of [...this.connections]) c.toxicRemoved(change.toxic); return
      case 'enabled':
        this.pending = this.pending.then(async () => {
          if (change.enabled) {
            if (this.server === undefined && this.link.enabled) await this.listen(this.port)
          } else {
            for (const c of [...this.connections]) c.close('reset')
            await this.stopListening()
          }
        }).catch((err: Error) => {
          process.stderr.write(`xcon: link ${this.link.name} could not listen again on port ${this.port}: ${err.message}\n`)
        })
    }
  }

  private async stopListening (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server !== undefined) await new Promise<void>(resolve => server.close(() => resolve()))
  }

  async close (): Promise<void> {
    await this.pending
    for (const c of [...this.connections]) c.close('end')
    await this.stopListening()
  }
}
