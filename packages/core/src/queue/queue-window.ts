import { PriorityFifo } from './priority-fifo.js'
import type { QueuedMessage, QueueReader } from '../ports.js'

/**
 * The waiting messages of one queue, kept on disk as Exchange kept its queues in DB*.DAT files:
 * only a window of at most `capacity` of them is in memory, refilled from the store in delivery
 * order (urgent first) when it runs low. A backlog of any length costs a counter, not its
 * contents. `held(seq)` tells which stored messages the queue already has in memory outside
 * this window (in flight, waiting to retry, being removed), so a refill never loads them twice.
 */
export class QueueWindow {
  private readonly window = new PriorityFifo<QueuedMessage>()
  private readonly inWindow = new Set<number>()
  /** Waiting messages that are only on disk. */
  private onDisk = 0
  /** What `take` has taken so far: still in the store, so its own refills must pass over it. */
  private taking: Set<number> | undefined

  constructor (
    private readonly key: string,
    private readonly store: QueueReader,
    private readonly capacity: number,
    private readonly held: (seq: number) => boolean
  ) {}

  /** Waiting messages, in memory and on disk. */
  get length (): number {
    return this.window.length + this.onDisk
  }

  /** Messages just stored for this queue: kept in memory while there is room and nothing older waits on disk. */
  add (items: QueuedMessage[]): void {
    for (const item of items) {
      if (this.onDisk === 0 && this.window.length < this.capacity) this.keep(item)
      else this.onDisk++
    }
  }

  /** Messages found in the store at start-up: they are read when the queue gets to them. */
  restore (count: number): void {
    this.onDisk += count
  }

  /** Puts a message back at the front (its association was lost); it stays in memory. */
  unshift (item: QueuedMessage): void {
    this.inWindow.add(item.seq)
    this.window.unshift(item)
  }

  /** The next message to send, reading from the store when the window is empty. */
  shift (): QueuedMessage | undefined {
    if (this.window.length === 0) this.refill()
    const item = this.window.shift()
    if (item !== undefined) this.inWindow.delete(item.seq)
    return item
  }

  /** Takes up to `limit` waiting messages out (to reroute or to answer with NDRs), from memory first. */
  take (limit: number): QueuedMessage[] {
    const out: QueuedMessage[] = []
    this.taking = new Set()
    try {
      while (out.length < limit) {
        const item = this.shift()
        if (item === undefined) break
        this.taking.add(item.seq)
        out.push(item)
      }
    } finally {
      this.taking = undefined
    }
    return out
  }

  /**
   * Takes every waiting message out, a batch at a time, and hands each to `each` (an NDR and its
   * removal). A batch is settling in `places` while it is answered, so that no refill sends what
   * is being answered; memory stays bounded by `batch` whatever the backlog.
   */
  async drainEach (batch: number, places: { settle: (item: QueuedMessage) => void, settled: (item: QueuedMessage) => void }, each: (item: QueuedMessage) => Promise<void>): Promise<void> {
    for (let items = this.take(batch); items.length > 0; items = this.take(batch)) {
      for (const item of items) places.settle(item)
      for (const item of items) {
        try { await each(item) } finally { places.settled(item) }
      }
    }
  }

  private keep (item: QueuedMessage): void {
    this.inWindow.add(item.seq)
    this.window.push(item)
  }

  private refill (): void {
    if (this.onDisk === 0) return
    const read = this.store.readQueue(this.key, Math.min(this.capacity, this.onDisk), seq => this.inWindow.has(seq) || this.held(seq) || this.taking?.has(seq) === true)
    for (const item of read) this.keep(item)
    // Fewer on disk than counted (removed behind the count's back): trust the store.
    this.onDisk = read.length < Math.min(this.capacity, this.onDisk) ? 0 : this.onDisk - read.length
  }
}
