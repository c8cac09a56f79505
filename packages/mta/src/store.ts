import { open, type Database, type RootDatabase } from 'lmdb'
import type { Envelope } from '@xcon/core'

/** A message waiting in the outbound queue for one peer. */
export interface QueuedMessage {
  seq: number
  peer: string
  envelope: Envelope
  content: Uint8Array
  transferFailures: number
  enqueuedAt: number
}

/** One copy of a message placed in a mailbox. */
export interface Delivery {
  seq: number
  mailbox: string
  mtsId: string
  originator: string
  subject: string
  kind: Envelope['kind']
  at: number
  hops: string[]
}

export interface Counters {
  delivered: number
  duplicatesSuppressed: number
  ndrs: number
  mtsCounter: number
  seq: number
}

/**
 * The MTA's durable state in one LMDB environment: outbound queues, delivered mail, the MTS-IDs
 * already accepted (for duplicate suppression) and counters. Every write that a peer or a client
 * is told about has been committed and flushed to disk first.
 */
export class MtaStore {
  private readonly root: RootDatabase
  private readonly queue: Database<QueuedMessage, [string, number]>
  private readonly deliveries: Database<Delivery, number>
  private readonly seen: Database<number, string>
  private readonly meta: Database<number, string>
  readonly counters: Counters

  constructor (path: string) {
    this.root = open({ path, compression: false })
    this.queue = this.root.openDB({ name: 'queue' })
    this.deliveries = this.root.openDB({ name: 'deliveries' })
    this.seen = this.root.openDB({ name: 'seen' })
    this.meta = this.root.openDB({ name: 'meta' })
    const read = (k: string): number => this.meta.get(k) ?? 0
    this.counters = { delivered: read('delivered'), duplicatesSuppressed: read('duplicatesSuppressed'), ndrs: read('ndrs'), mtsCounter: read('mtsCounter'), seq: read('seq') }
  }

  /** Every queued message, per peer, in submission order. */
  loadQueues (): Map<string, QueuedMessage[]> {
    const queues = new Map<string, QueuedMessage[]>()
    for (const { value } of this.queue.getRange()) {
      const list = queues.get(value.peer) ?? []
      list.push(value)
      queues.set(value.peer, list)
    }
    return queues
  }

  /** Allocates the next MTS-ID counter value; persisted by the next `submit`. */
  nextMtsCounter (): number {
    return ++this.counters.mtsCounter
  }

  /**
   * Atomically queues copies for peers and delivers local copies, then waits for the flush.
   * Returns the queued records (with their sequence numbers).
   */
  async submit (queued: Array<Omit<QueuedMessage, 'seq'>>, local: { envelope: Envelope, mailboxes: string[] } | undefined): Promise<QueuedMessage[]> {
    const records: QueuedMessage[] = []
    await this.root.transaction(() => {
      for (const q of queued) {
        const record = { ...q, seq: ++this.counters.seq }
        this.queue.put([q.peer, record.seq], record)
        records.push(record)
      }
      if (local !== undefined) this.deliverInTxn(local.envelope, local.mailboxes)
      this.putCounters()
    })
    await this.root.flushed
    return records
  }

  /**
   * Accepts a transfer for local mailboxes exactly once: an MTS-ID seen before is counted as a
   * suppressed duplicate and not delivered again. Resolves after the flush.
   */
  async accept (envelope: Envelope, mailboxes: string[]): Promise<{ duplicate: boolean }> {
    let duplicate = false
    await this.root.transaction(() => {
      if (this.seen.get(envelope.mtsId) !== undefined) {
        duplicate = true
        this.counters.duplicatesSuppressed++
      } else {
        this.deliverInTxn(envelope, mailboxes)
      }
      this.putCounters()
    })
    await this.root.flushed
    return { duplicate }
  }

  private deliverInTxn (envelope: Envelope, mailboxes: string[]): void {
    const at = Date.now()
    for (const mailbox of mailboxes) {
      const seq = ++this.counters.seq
      this.deliveries.put(seq, {
        seq, mailbox, mtsId: envelope.mtsId, originator: envelope.originator, subject: envelope.subject,
        kind: envelope.kind, at, hops: envelope.trace.map(h => h.server)
      })
      this.counters.delivered++
    }
    this.seen.put(envelope.mtsId, at)
  }

  /** Removes a message the peer has acknowledged (or that was answered with an NDR). */
  async dequeue (peer: string, seq: number): Promise<void> {
    await this.queue.remove([peer, seq])
  }

  /** Saves a message's transfer failure count so a restart does not reset it. */
  async updateQueued (record: QueuedMessage): Promise<void> {
    await this.queue.put([record.peer, record.seq], record)
  }

  async countNdr (): Promise<void> {
    this.counters.ndrs++
    await this.meta.put('ndrs', this.counters.ndrs)
  }

  /** Deliveries in order, optionally after a sequence number (for paging). */
  listDeliveries (after = 0, limit = 10_000): Delivery[] {
    const out: Delivery[] = []
    for (const { value } of this.deliveries.getRange({ start: after + 1, limit })) out.push(value)
    return out
  }

  private putCounters (): void {
    for (const [k, v] of Object.entries(this.counters)) this.meta.put(k, v)
  }

  async close (): Promise<void> {
    await this.root.flushed
    await this.root.close()
  }
}
