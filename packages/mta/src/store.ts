import { open, type Database, type Key, type RootDatabase } from 'lmdb'
import { copyKey } from './copy-key.js'
import {
  PRIORITIES, StoreFailedError, envelope as checkEnvelope, type KillPointName,
  type DeliveryRecord, type Envelope, type MailStore, type QueuedMessage, type StoreCheck, type StoreCounters
} from '@xcon/core'

export type { QueuedMessage, StoreCheck }
/** One copy of a message placed in a mailbox: what GET /deliveries lists (core's admin contract). */
export type Delivery = DeliveryRecord
export type Counters = StoreCounters

/** A queue record's key: queue, then priority rank (urgent first), then arrival order. */
type QueueKey = [string, number, number]

function keyOf (record: { queue: string, seq: number, envelope: { priority: Envelope['priority'] } }): QueueKey {
  return [record.queue, PRIORITIES.indexOf(record.envelope.priority), record.seq]
}

/** Inside a transaction a put's promise only repeats the transaction's outcome, which the caller awaits. */
const settled = (): void => undefined

/** How long a failed commit's cause may take to arrive after its failure (LMDB sends it at once). */
const CAUSE_WAIT_MS = 1000

/**
 * The reason a write failed. LMDB rejects every write of a failed commit with a bare "Commit
 * failed" whose `commitError` is a second promise, rejected with the cause (ENOSPC, EIO for a
 * short write on tmpfs, MDB_MAP_FULL): read here, so that it is never an unhandled rejection,
 * which would end the process (issue #30).
 */
async function causeOf (err: unknown): Promise<unknown> {
  const pending = (err as { commitError?: unknown } | undefined)?.commitError
  if (!(pending instanceof Promise)) return err
  let timer: NodeJS.Timeout | undefined
  const cause = await Promise.race([
    pending.then(() => err, (c: unknown) => c),
    new Promise<unknown>(resolve => { timer = setTimeout(() => resolve(err), CAUSE_WAIT_MS) })
  ])
  clearTimeout(timer)
  return cause
}

/** A failed write as the MTA reports it: XCON_ERR_STORE_FAILED, with LMDB's cause (and its errno code) kept. */
async function storeFailure (err: unknown): Promise<StoreFailedError> {
  const cause = await causeOf(err)
  const code = (cause as { code?: unknown } | undefined)?.code
  const text = `a write to the store failed: ${(cause as Error | undefined)?.message ?? String(cause)}${typeof code === 'string' || typeof code === 'number' ? ` (${code})` : ''}`
  return Object.assign(new StoreFailedError(text), { cause })
}

/** What one transaction changed in the counts kept in memory, undone if it does not commit. */
interface TxnCounts { delivered: number, duplicatesSuppressed: number, depths: Map<string, number> }

/**
 * The MTA's durable state in one LMDB environment: outbound queues, delivered mail, the copies
 * already accepted (for duplicate suppression) and counters. Every write that a peer or a client
 * is told about has been committed and flushed to disk first. Every key has a bounded size, so a
 * transaction's callback cannot throw half way: what it writes commits whole or not at all.
 * Queued contents stay on disk; the queues read a window at a time.
 */
export class MtaStore implements MailStore {
  private readonly root: RootDatabase
  private readonly queue: Database<QueuedMessage, QueueKey>
  private readonly deliveries: Database<Delivery, number>
  private readonly seen: Database<number, string>
  private readonly meta: Database<number, string>
  private readonly damaged: Database<unknown, Key>
  readonly counters: Counters
  /**
   * Messages per queue, counted in memory and written down at a clean close, so that the next
   * start need not count them. After an unclean stop the check counts them afresh.
   */
  private readonly depths = new Map<string, number>()
  /** The counts the transaction callback running now has changed (callbacks run one at a time). */
  private txnCounts: TxnCounts | undefined

  /** `reach` is called at each point of the exactly-once argument (XCON_KILL_AT kills the process there). */
  constructor (path: string, private readonly reach: (point: KillPointName) => void = () => undefined) {
    // remapChunks: LMDB maps the file in chunks and unmaps those no read holds, so the store's
    // pages the kernel maps around each commit's reads leave the process's RSS (with 200,000
    // queued, 76 → 63 MB mapped; README "Resident memory"). The file format is the same, and the
    // transfer bench's rate did not move beyond its noise.
    // eventTurnBatching off: every write here is an explicit transaction, and lmdb-js's event-turn
    // batch adds a commit promise of its own that nothing can handle, so a failed commit (a full
    // disk) would be an unhandled rejection and end the process (issue #30). The transfer bench:
    // 22.8k-23.9k msg/s without it, 22.1k-24.9k with it, the store's own writes unchanged.
    this.root = open({ path, compression: false, remapChunks: true, eventTurnBatching: false })
    this.queue = this.root.openDB({ name: 'queue' })
    this.deliveries = this.root.openDB({ name: 'deliveries' })
    this.seen = this.root.openDB({ name: 'seen' })
    this.meta = this.root.openDB({ name: 'meta' })
    this.damaged = this.root.openDB({ name: 'mtacheck.out' })
    const read = (k: string): number => this.meta.get(k) ?? 0
    this.counters = { delivered: read('delivered'), duplicatesSuppressed: read('duplicatesSuppressed'), ndrs: read('ndrs'), mtsCounter: read('mtsCounter'), seq: read('seq') }
  }

  /**
   * Marks the store open and checks it if the last close was not clean, as the MTA ran MTACHECK
   * after an unclean stop (Q163295): every queue record is read; what is not a message moves to
   * `mtacheck.out` (Mtacheck.out in Exchange); records in an older key layout are rewritten. After
   * a clean stop the counts that stop wrote are read and no record is; a store that has no counts
   * (written before they were kept) is read whole once. Returns what it found.
   */
  async openAndCheck (): Promise<StoreCheck> {
    const unclean = this.meta.get('open') === 1
    const queues: Record<string, number> = {}
    const removed: Array<{ key: Key, value: unknown }> = []
    const rebuilt: Array<{ key: Key, record: QueuedMessage }> = []
    if (!unclean && this.meta.get('depthsKept') === 1) {
      // A clean stop left exact counts: no record is read, however long the backlog.
      for (const { key, value } of this.meta.getRange({ start: 'depth:', end: 'depth;' })) {
        if (value > 0) queues[key.slice('depth:'.length)] = value
      }
    } else {
      for (const { key, value } of this.queue.getRange()) {
        const record = value as unknown
        if (!isQueuedMessage(record)) { removed.push({ key, value: record }); continue }
        if (!Array.isArray(key) || key.length !== 3) rebuilt.push({ key, record })
        queues[record.queue] = (queues[record.queue] ?? 0) + 1
      }
    }
    for (const [q, n] of Object.entries(queues)) this.depths.set(q, n)
    await this.write(() => {
      for (const r of removed) { this.damaged.put(r.key, r.value ?? null).catch(settled); this.queue.remove(r.key as QueueKey).catch(settled) }
      for (const r of rebuilt) { this.queue.remove(r.key as QueueKey).catch(settled); this.queue.put(keyOf(r.record), r.record).catch(settled) }
      // Until the next clean close the written counts are stale: only a clean close trusts them again.
      this.meta.put('depthsKept', 0).catch(settled)
      this.meta.put('open', 1).catch(settled)
    })
    return { unclean, queues, messages: Object.values(queues).reduce((n, m) => n + m, 0), removed: removed.length, rebuilt: rebuilt.length }
  }

  /**
   * Up to `limit` messages of one queue in delivery order (urgent first, then by arrival),
   * passing over those `skip` says the queue already holds in memory.
   */
  readQueue (queue: string, limit: number, skip: (seq: number) => boolean): QueuedMessage[] {
    const out: QueuedMessage[] = []
    if (limit <= 0) return out
    for (const key of this.queue.getKeys({ start: [queue], end: [queue, PRIORITIES.length] })) {
      const seq = (key as QueueKey)[2]
      if (skip(seq)) continue
      const record = this.queue.get(key as QueueKey)
      if (record !== undefined) out.push(record)
      if (out.length >= limit) break
    }
    return out
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
    await this.write(() => {
      records.push(...this.enqueueInTxn(queued))
      for (const local of locals) this.deliverInTxn(local.envelope, local.mailboxes)
      this.putCounters()
    })
    return records
  }

  /**
   * Accepts the messages of one transfer exactly once, in one transaction: each delivers its local
   * recipients and queues the others onward (a bridgehead relaying), with the copy's duplicate key.
   * A copy seen before (same MTS-ID and recipients), in the store or earlier in the same transfer,
   * is counted as a suppressed duplicate and changes nothing.
   */
  async accept (messages: ReadonlyArray<{ envelope: Envelope, mailboxes: string[], onward: Array<Omit<QueuedMessage, 'seq'>> }>): Promise<Array<{ duplicate: boolean, records: QueuedMessage[] }>> {
    const out: Array<{ duplicate: boolean, records: QueuedMessage[] }> = []
    await this.write(() => {
      const here = new Set<string>()
      const half = Math.floor(messages.length / 2)
      for (const [i, { envelope, mailboxes, onward }] of messages.entries()) {
        if (i === half) this.reach('mid-transfer')
        const key = copyKey(envelope)
        if (here.has(key) || this.seen.get(key) !== undefined) {
          this.counters.duplicatesSuppressed++
          if (this.txnCounts !== undefined) this.txnCounts.duplicatesSuppressed++
          out.push({ duplicate: true, records: [] })
          continue
        }
        here.add(key)
        this.deliverInTxn(envelope, mailboxes, key)
        out.push({ duplicate: false, records: this.enqueueInTxn(onward) })
      }
      this.putCounters()
    })
    this.reach('after-commit')
    return out
  }

  /** Moves queued messages to other queues in one transaction (rerouting around a failed connector). */
  async requeue (moves: Array<{ from: QueuedMessage, to: Omit<QueuedMessage, 'seq'> }>): Promise<QueuedMessage[]> {
    const records: QueuedMessage[] = []
    await this.write(() => {
      for (const m of moves) {
        this.queue.remove(keyOf(m.from)).catch(settled)
        this.count(m.from.queue, -1)
      }
      records.push(...this.enqueueInTxn(moves.map(m => m.to)))
      this.putCounters()
    })
    return records
  }

  private enqueueInTxn (queued: Array<Omit<QueuedMessage, 'seq'>>): QueuedMessage[] {
    return queued.map(q => {
      const record = { ...q, seq: ++this.counters.seq }
      this.queue.put(keyOf(record), record).catch(settled)
      this.count(q.queue, 1)
      return record
    })
  }

  private deliverInTxn (envelope: Envelope, mailboxes: string[], key = copyKey(envelope)): void {
    const at = Date.now()
    for (const mailbox of mailboxes) {
      const seq = ++this.counters.seq
      this.deliveries.put(seq, {
        seq, mailbox, mtsId: envelope.mtsId, originator: envelope.originator, subject: envelope.subject,
        kind: envelope.kind, submitted: envelope.submitTime, at, hops: envelope.trace.map(h => h.server)
      }).catch(settled)
      this.counters.delivered++
      if (this.txnCounts !== undefined) this.txnCounts.delivered++
    }
    this.seen.put(key, at).catch(settled)
  }

  private count (queue: string, by: number): void {
    const before = this.depths.get(queue) ?? 0
    const after = Math.max(0, before + by)
    this.depths.set(queue, after)
    const t = this.txnCounts
    if (t !== undefined) t.depths.set(queue, (t.depths.get(queue) ?? 0) + after - before)
  }

  /**
   * Runs `fn` in one write transaction and, when `durable`, waits for the flush. Every write of
   * the store comes through here: a commit that fails (a full disk) rejects with
   * StoreFailedError and its cause, and the counts kept in memory lose what `fn` added, so a
   * refused submission is neither queued nor counted. The MTS-ID and sequence counters are not
   * wound back: a gap is harmless, a number used twice would not be.
   */
  private async write (fn: () => void, durable = true): Promise<void> {
    const counts: TxnCounts = { delivered: 0, duplicatesSuppressed: 0, depths: new Map() }
    try {
      await this.root.transaction(() => {
        this.txnCounts = counts
        try { fn() } finally { this.txnCounts = undefined }
      })
      if (durable) await this.root.flushed
    } catch (err) {
      this.counters.delivered -= counts.delivered
      this.counters.duplicatesSuppressed -= counts.duplicatesSuppressed
      for (const [queue, by] of counts.depths) this.depths.set(queue, Math.max(0, (this.depths.get(queue) ?? 0) - by))
      throw await storeFailure(err)
    }
  }

  /** Removes messages the next hop acknowledged (or that were answered with an NDR), in one transaction. */
  async dequeue (records: readonly QueuedMessage[]): Promise<void> {
    this.reach('after-ack')
    // Not waited for on disk: a removal lost in a crash only sends the copy again, and the peer suppresses it.
    await this.write(() => {
      for (const record of records) {
        const key = keyOf(record)
        // Counted only if it is there: a second removal of the same message changes nothing.
        if (!this.queue.doesExist(key)) continue
        this.count(record.queue, -1)
        this.queue.remove(key).catch(settled)
      }
    }, false)
  }

  /** Saves a message's transfer failure count so a restart does not reset it. */
  async updateQueued (record: QueuedMessage): Promise<void> {
    await this.write(() => { this.queue.put(keyOf(record), record).catch(settled) }, false)
  }

  async countNdr (): Promise<void> {
    this.counters.ndrs++
    await this.write(() => { this.meta.put('ndrs', this.counters.ndrs).catch(settled) }, false)
  }

  /** Deliveries in order, optionally after a sequence number (for paging). */
  listDeliveries (after = 0, limit = 10_000): Delivery[] {
    const out: Delivery[] = []
    for (const { value } of this.deliveries.getRange({ start: after + 1, limit })) out.push(value)
    return out
  }

  private putCounters (): void {
    for (const [k, v] of Object.entries(this.counters)) this.meta.put(k, v).catch(settled)
  }

  /** Writes the queue counts down, marks the store closed cleanly (so the next start skips the full check), and closes it. */
  async close (): Promise<void> {
    try {
      await this.write(() => {
        for (const { key } of this.meta.getRange({ start: 'depth:', end: 'depth;' })) this.meta.remove(key).catch(settled)
        for (const [q, n] of this.depths) if (n > 0) this.meta.put(`depth:${q}`, n).catch(settled)
        this.meta.put('depthsKept', 1).catch(settled)
        this.meta.put('open', 0).catch(settled)
      })
    } finally {
      await this.root.close()
    }
  }
}

/** A record the queues can send: the frame validator's envelope check, and the record's own fields. */
function isQueuedMessage (v: unknown): v is QueuedMessage {
  if (typeof v !== 'object' || v === null) return false
  const r = v as Record<string, unknown>
  if (typeof r.seq !== 'number' || typeof r.queue !== 'string' || !(r.content instanceof Uint8Array)) return false
  try {
    checkEnvelope(r.envelope, 'record.envelope')
    return true
  } catch {
    return false
  }
}
