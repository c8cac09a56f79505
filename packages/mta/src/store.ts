import { open, type Database, type RootDatabase } from 'lmdb'
import type { Envelope } from '@xcon/core'

/** A message waiting in one outbound queue (`server:SRV-B`, `connector:CORP-BRANCH` or `ims`). */
export interface QueuedMessage {
  seq: number
  queue: string
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
  /** When it was submitted (at its first MTA) and when it was stored here, epoch ms. */
  submitted: number
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
 * One copy of a message: its MTS-ID and its recipients. Routing splits a message into copies with
 * disjoint recipients, so a copy that arrives twice is a retransmission, never a second copy.
 */
function copyKey (envelope: Envelope): string {
  return `${envelope.mtsId}|${[...envelope.recipients].sort().join(',')}`
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

  /** Every queued message, per queue, in submission order. */
  loadQueues (): Map<string, QueuedMessage[]> {
    const queues = new Map<string, QueuedMessage[]>()
    for (const { value } of this.queue.getRange()) {
      const list = queues.get(value.queue) ?? []
      list.push(value)
      queues.set(value.queue, list)
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
  async submit (queued: Array<Omit<QueuedMessage, 'seq'>>, locals: Array<{ envelope: Envelope, mailboxes: string[] }>): Promise<QueuedMessage[]> {
    const records: QueuedMessage[] = []
    await this.root.transaction(() => {
      records.push(...this.enqueueInTxn(queued))
      for (const local of locals) this.deliverInTxn(local.envelope, local.mailboxes)
      this.putCounters()
    })
    await this.root.flushed
    return records
  }

  /**
   * Accepts a transfer exactly once: delivers its local recipients and queues the others onward
   * (a bridgehead relaying), in one transaction. A copy seen before (same MTS-ID and recipients)
   * is counted as a suppressed duplicate and changes nothing. Resolves after the flush.
   */
  async accept (envelope: Envelope, mailboxes: string[], onward: Array<Omit<QueuedMessage, 'seq'>>): Promise<{ duplicate: boolean, records: QueuedMessage[] }> {
    let duplicate = false
    const records: QueuedMessage[] = []
    await this.root.transaction(() => {
      if (this.seen.get(copyKey(envelope)) !== undefined) {
        duplicate = true
        this.counters.duplicatesSuppressed++
      } else {
        this.deliverInTxn(envelope, mailboxes)
        records.push(...this.enqueueInTxn(onward))
      }
      this.putCounters()
    })
    await this.root.flushed
    return { duplicate, records }
  }

  /** Moves queued messages to other queues in one transaction (rerouting around a failed connector). */
  async requeue (moves: Array<{ from: QueuedMessage, to: Omit<QueuedMessage, 'seq'> }>): Promise<QueuedMessage[]> {
    const records: QueuedMessage[] = []
    await this.root.transaction(() => {
      for (const m of moves) this.queue.remove([m.from.queue, m.from.seq])
      records.push(...this.enqueueInTxn(moves.map(m => m.to)))
      this.putCounters()
    })
    await this.root.flushed
    return records
  }

  private enqueueInTxn (queued: Array<Omit<QueuedMessage, 'seq'>>): QueuedMessage[] {
    return queued.map(q => {
      const record = { ...q, seq: ++this.counters.seq }
      this.queue.put([q.queue, record.seq], record)
      return record
    })
  }

  private deliverInTxn (envelope: Envelope, mailboxes: string[]): void {
    const at = Date.now()
    for (const mailbox of mailboxes) {
      const seq = ++this.counters.seq
      this.deliveries.put(seq, {
        seq, mailbox, mtsId: envelope.mtsId, originator: envelope.originator, subject: envelope.subject,
        kind: envelope.kind, submitted: envelope.submitTime, at, hops: envelope.trace.map(h => h.server)
      })
      this.counters.delivered++
    }
    this.seen.put(copyKey(envelope), at)
  }

  /** Removes a message the next hop has acknowledged (or that was answered with an NDR). */
  async dequeue (queue: string, seq: number): Promise<void> {
    await this.queue.remove([queue, seq])
  }

  /** Saves a message's transfer failure count so a restart does not reset it. */
  async updateQueued (record: QueuedMessage): Promise<void> {
    await this.queue.put([record.queue, record.seq], record)
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
