import type { Socket } from 'node:net'
import { actsOn, type LinkState, type Toxic } from '@xcon/core'
import { ToxicPipe, type ByteCounts } from './toxic-pipe.js'

type Direction = 'upstream' | 'downstream'

/**
 * One TCP connection through a link's proxy: the calling MTA's socket, the one to its peer, a
 * toxic pipe each way. Which toxics act on it is drawn when it opens, and again for each toxic
 * added or changed later, with each toxic's toxicity (Toxiproxy's meaning: a share of the
 * connections, not of the bytes).
 */
export class ProxiedConnection {
  private readonly drawn = new Set<string>()
  private readonly timers = new Map<string, NodeJS.Timeout>()
  private readonly pipes: Record<Direction, ToxicPipe>
  private closed = false

  constructor (
    private readonly client: Socket,
    private readonly upstream: Socket,
    private readonly link: LinkState,
    counts: Record<Direction, ByteCounts>,
    private readonly onClosed: () => void
  ) {
    const active = (dir: Direction) => (): Toxic[] => this.link.toxics.filter(t => this.drawn.has(t.name) && actsOn(t, dir))
    const close = (how: 'end' | 'reset'): void => this.close(how)
    this.pipes = {
      upstream: new ToxicPipe(client, upstream, active('upstream'), counts.upstream, close),
      downstream: new ToxicPipe(upstream, client, active('downstream'), counts.downstream, close)
    }
    for (const s of [client, upstream]) s.on('error', () => undefined)
    client.on('close', () => this.lost('upstream'))
    upstream.on('close', () => this.lost('downstream'))
    for (const t of link.toxics) this.toxicAdded(t)
  }

  /**
   * A socket closed by an error or a reset, not by a FIN (its pipe handles those in order).
   * Through a timeout toxic nothing reaches the other side, not even this; otherwise the other
   * side is closed too.
   */
  private lost (from: Direction): void {
    if (this.closed) return
    if (this.client.destroyed && this.upstream.destroyed) { this.close('end'); return }
    const cut = this.link.toxics.some(t => this.drawn.has(t.name) && t.type === 'timeout' && actsOn(t, from))
    if (!cut) this.close('end')
  }

  toxicAdded (toxic: Toxic): void {
    if (this.closed) return
    if (Math.random() >= toxic.toxicity) { this.drawn.delete(toxic.name); return }
    this.drawn.add(toxic.name)
    const ms = toxic.attributes.timeout ?? 0
    if (toxic.type === 'reset_peer') this.timers.set(toxic.name, setTimeout(() => this.close('reset'), ms))
    if (toxic.type === 'timeout' && ms > 0) this.timers.set(toxic.name, setTimeout(() => this.close('end'), ms))
  }

  toxicUpdated (toxic: Toxic): void {
    this.clearTimer(toxic.name)
    this.toxicAdded(toxic)
  }

  /** A timeout toxic's removal ends the connections it held (as Toxiproxy's does), so the MTA opens a new one. */
  toxicRemoved (toxic: Toxic): void {
    this.clearTimer(toxic.name)
    const held = this.drawn.delete(toxic.name)
    if (held && toxic.type === 'timeout') this.close('end')
  }

  private clearTimer (name: string): void {
    clearTimeout(this.timers.get(name))
    this.timers.delete(name)
  }

  close (how: 'end' | 'reset'): void {
    if (this.closed) return
    this.closed = true
    for (const t of this.timers.values()) clearTimeout(t)
    this.pipes.upstream.stop()
    this.pipes.downstream.stop()
    for (const s of [this.client, this.upstream]) {
      if (how === 'reset') {
        try { s.resetAndDestroy() } catch { s.destroy() } // not connected yet: a plain close
      } else {
        // A FIN after what is written; destroyed if the other end does not close in time.
        s.end()
        setTimeout(() => s.destroy(), 2000).unref()
      }
    }
    this.onClosed()
  }
}
