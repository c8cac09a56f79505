/**
 * How many outbound associations one MTA opens at a time. Exchange's MTA set associations up on
 * a few kernel threads (Q234280: "1 to 3"), so a queue's open waited its turn rather than every
 * queue connecting at once; the number of opens at once is NOT FOUND, so xcon's is a design choice
 * (MAX_OPENING, XCON_MAX_OPENING). Without a limit, a 100-MTA site that starts its whole mesh at
 * once makes 9,900 opens on two cores: they time out, retry, and the mesh never closes.
 *
 * An open waits here in arrival order until fewer than `limit` are connecting or binding; it
 * counts until it binds, ends or finds no control block. Inbound associations never wait here.
 * Each pool has its own gate: association ids are unique only within a pool.
 */
export class OpenGate {
  private readonly opening = new Set<string>()
  private readonly queued = new Map<string, () => void>()

  constructor (private readonly limit: number) {}

  /** Runs `start` now, or when an open before it settles. */
  request (assocId: string, start: () => void): void {
    if (this.opening.size < this.limit) {
      this.opening.add(assocId)
      start()
    } else {
      this.queued.set(assocId, start)
    }
  }

  /** The association bound, ended or found no control block: the next waiting open may start. */
  settled (assocId: string): void {
    if (!this.opening.delete(assocId)) return
    for (const [next, start] of this.queued) {
      if (this.opening.size >= this.limit) break
      this.queued.delete(next)
      this.opening.add(next)
      start()
    }
  }

  /** Opens waiting for their turn (the status document's `opensWaiting`). */
  get waiting (): number {
    return this.queued.size
  }

  /** The MTA is closing down or was killed: nothing that waits will start. */
  clear (): void {
    this.queued.clear()
  }
}
