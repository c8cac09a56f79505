import type { Socket } from 'node:net'
import type { Toxic } from '@xcon/core'

/** Bytes counted as Toxiproxy counts them: read from the source, written to the destination. */
export interface ByteCounts { received: number, sent: number }

/** What a pipe asks of its connection: to end it (FIN) or reset it (RST), both ways. */
export type CloseConnection = (how: 'end' | 'reset') => void

/** Past this much waiting in a pipe (a slow bandwidth toxic), the source is paused. */
const HIGH_WATER = 1 << 20

/**
 * One direction of one proxied connection (upstream: the calling MTA's bytes to its peer;
 * downstream: the answers), through the toxics that act on it, in the link's order:
 * - timeout: nothing passes, and a close from the source is withheld too (a cut cable sends
 *   no FIN), so the other side times out; with a timeout above 0 the connection ends then;
 * - latency: each chunk leaves latency ± jitter ms after it arrived, in order;
 * - bandwidth: rate KB/s; slicer: chunks cut to about average_size bytes, delay µs apart;
 * - limit_data: the connection ends once `bytes` have passed this way;
 * - slow_close: the source's close reaches the other side `delay` ms late.
 * reset_peer is the connection's (a timer, then RST both ways).
 */
export class ToxicPipe {
  private readonly queue: Array<{ data: Buffer, at: number }> = []
  private queued = 0
  private pumping = false
  private sourceEnded = false
  private passed = 0
  private closed = false
  /** Waits in progress (a toxic's delay, a full destination), each ended at once by stop(). */
  private readonly waits = new Set<() => void>()

  constructor (
    private readonly source: Socket,
    private readonly dest: Socket,
    /** The toxics acting on this direction of this connection now, in chain order. */
    private readonly toxics: () => Toxic[],
    private readonly counts: ByteCounts,
    private readonly close: CloseConnection
  ) {
    source.on('data', (data: Buffer) => this.push(data))
    source.on('end', () => { this.sourceEnded = true; void this.pump() })
  }

  private of (type: Toxic['type']): Toxic | undefined {
    return this.toxics().find(t => t.type === type)
  }

  private push (data: Buffer): void {
    this.counts.received += data.length
    if (this.closed || this.of('timeout') !== undefined) return // swallowed
    this.queue.push({ data, at: Date.now() })
    this.queued += data.length
    if (this.queued > HIGH_WATER) this.source.pause()
    void this.pump()
  }

  /** Sleeps, unless the connection closes first. */
  private async sleep (ms: number): Promise<void> {
    if (ms <= 0) return
    await this.wait(done => {
      const t = setTimeout(done, ms)
      return () => clearTimeout(t)
    })
  }

  /** Waits until `start`'s callback is called or the pipe stops; `start` returns its own cleanup. */
  private async wait (start: (done: () => void) => () => void): Promise<void> {
    await new Promise<void>(resolve => {
      const done = (): void => { this.waits.delete(done); cleanup(); resolve() }
      const cleanup = start(done)
      this.waits.add(done)
    })
  }

  private async write (data: Buffer): Promise<void> {
    if (this.closed || data.length === 0) return
    this.counts.sent += data.length
    if (!this.dest.write(data)) {
      await this.wait(done => {
        this.dest.once('drain', done)
        this.dest.once('close', done)
        return () => { this.dest.off('drain', done); this.dest.off('close', done) }
      })
    }
  }

  private async pump (): Promise<void> {
    if (this.pumping) return
    this.pumping = true
    try {
      while (this.queue.length > 0 && !this.closed) {
        const chunk = this.queue[0]!
        const latency = this.of('latency')
        if (latency !== undefined) {
          const { latency: ms = 0, jitter = 0 } = latency.attributes
          const delay = ms + (jitter > 0 ? Math.round((Math.random() * 2 - 1) * jitter) : 0)
          await this.sleep(chunk.at + delay - Date.now())
        }
        const rate = this.of('bandwidth')?.attributes.rate ?? 0
        if (rate > 0) await this.sleep(chunk.data.length / rate) // KB/s is bytes per ms
        this.queue.shift()
        this.queued -= chunk.data.length
        if (this.queued <= HIGH_WATER / 2) this.source.resume()
        if (this.closed || this.of('timeout') !== undefined) continue // cut while it waited
        const limit = this.of('limit_data')?.attributes.bytes
        const data = limit === undefined ? chunk.data : chunk.data.subarray(0, Math.max(0, limit - this.passed))
        this.passed += data.length
        const slicer = this.of('slicer')
        if (slicer === undefined) await this.write(data)
        else {
          for (const piece of slices(data, slicer.attributes.average_size ?? 0, slicer.attributes.size_variation ?? 0)) {
            await this.write(piece)
            await this.sleep((slicer.attributes.delay ?? 0) / 1000)
          }
        }
        if (limit !== undefined && this.passed >= limit) {
          this.close('end')
          return
        }
      }
      if (this.sourceEnded && this.queue.length === 0 && !this.closed && this.of('timeout') === undefined) {
        await this.sleep(this.of('slow_close')?.attributes.delay ?? 0)
        this.close('end')
      }
    } finally {
      this.pumping = false
    }
  }

  /** The connection ended: nothing more is written and every wait ends. */
  stop (): void {
    this.closed = true
    for (const done of [...this.waits]) done()
    this.queue.length = 0
  }
}

/** Toxiproxy's slicer: halves until each piece is within size_variation of average_size. */
function slices (data: Buffer, average: number, variation: number): Buffer[] {
  if (average <= 0) return [data]
  const cut = (start: number, end: number): number[] => {
    if (end - start - average <= variation) return [start, end]
    let mid = start + Math.floor((end - start) / 2)
    if (variation > 0) mid += Math.floor(Math.random() * variation * 2) - variation
    mid = Math.min(end - 1, Math.max(start + 1, mid))
    return [...cut(start, mid), ...cut(mid, end)]
  }
  const bounds = cut(0, data.length)
  const out: Buffer[] = []
  for (let i = 0; i < bounds.length; i += 2) out.push(data.subarray(bounds[i]!, bounds[i + 1]!))
  return out
}
