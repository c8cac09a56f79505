import type { Key } from 'lmdb'
import { copyKey } from './copy-key.js'
import { COMPACT_IDLE_MS, dataFileBytes, removeStaleCopy, replaceDataFile, worthCompacting, writeCompactedCopy } from './store-compaction.js'
import { liveBytes, openStoreEnv, type QueueKey, type StoreEnv } from './store-env.js'
import {
  PRIORITIES, StoreFailedError, envelope as checkEnvelope, type KillPointName,
  type DeliveryRecord, type Envelope, type MailStore, type QueuedMessage, type StoreCheck, type StoreCounters
} from '@xcon/core'

export type { QueuedMessage, StoreCheck }
/** One copy of a message placed in a mailbox: what GET /deliveries lists (core's admin contract). */
export type Delivery = DeliveryRecord
export type Counters = StoreCounters

function keyOf (record: { queue: string, seq: number, envelope: { priority: Envelope['priority'] } }): QueueKey {
  return [record.queue, PRIORITIES.indexOf(record.envelope.priority), record.seq]
}

/** Inside a transaction a put's promise only repeats the transaction's outcome, which the caller awaits. */
const settled = (): void => undefined

/** After a failed compaction, the first wait before the next try; it doubles up to COMPACT_RETRY_MAX_MS. */
const COMPACT_RETRY_MS = 60_000
const COMPACT_RETRY_MAX_MS = 3_600_000

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
  private env: StoreEnv
  readonly counters: Counters
  /**
   * Messages per queue, counted in memory and written down at a clean close, so that the next
   * start need not count them. After an unclean stop the check counts them afresh.
   */
  private readonly depths = new Map<string, number>()
  /** The counts the transaction callback running now has changed (callbacks run one at a time). */
  private txnCounts: TxnCounts | undefined

  /** Writes under way: maintenance waits for none. */
  private writing = 0
  private lastWriteAt = 0
  /** While set, maintenance holds the store: new writes wait for it. */
  private maintenance: Promise<void> | undefined
  /** True only while the environment is closed and reopened: reads see an empty queue (every queue is empty then). */
  private swapping = false
  private maintenanceTimer: NodeJS.Timeout | undefined
  /** After a compaction failed (no room for its copy, say), none is tried before this, and the wait doubles. */
  private compactNotBefore = 0
  private compactBackoffMs = COMPACT_RETRY_MS

  /** `reach` is called at each point of the exactly-once argument (XCON_KILL_AT kills the process there). */
  constructor (private readonly path: string, private readonly reach: (point: KillPointName) => void = () => undefined) {
    removeStaleCopy(path)
    this.env = openStoreEnv(path)
    const read = (k: string): number => this.env.meta.get(k) ?? 0
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
    const unclean = this.env.meta.get('open') === 1
    const queues: Record<string, number> = {}
    const removed: Array<{ key: Key, value: unknown }> = []
    const rebuilt: Array<{ key: Key, record: QueuedMessage }> = []
    if (!unclean && this.env.meta.get('depthsKept') === 1) {
      // A clean stop left exact counts: no record is read, however long the backlog.
      for (const { key, value } of this.env.meta.getRange({ start: 'depth:', end: 'depth;' })) {
        if (value > 0) queues[key.slice('depth:'.length)] = value
      }
    } else {
      for (const { key, value } of this.env.queue.getRange()) {
        const record = value as unknown
        if (!isQueuedMessage(record)) { removed.push({ key, value: record }); continue }
        if (!Array.isArray(key) || key.length !== 3) rebuilt.push({ key, record })
        queues[record.queue] = (queues[record.queue] ?? 0) + 1
      }
    }
    for (const [q, n] of Object.entries(queues)) this.depths.set(q, n)
    await this.write(() => {
      for (const r of removed) { this.env.damaged.put(r.key, r.value ?? null).catch(settled); this.env.queue.remove(r.key as QueueKey).catch(settled) }
      for (const r of rebuilt) { this.env.queue.remove(r.key as QueueKey).catch(settled); this.env.queue.put(keyOf(r.record), r.record).catch(settled) }
      // Until the next clean close the written counts are stale: only a clean close trusts them again.
      this.env.meta.put('depthsKept', 0).catch(settled)
      this.env.meta.put('open', 1).catch(settled)
    })
    return { unclean, queues, messages: Object.values(queues).reduce((n, m) => n + m, 0), removed: removed.length, rebuilt: rebuilt.length }
  }

  /**
   * Up to `limit` messages of one queue in delivery order (urgent first, then by arrival),
   * passing over those `skip` says the queue already holds in memory.
   */
  readQueue (queue: string, limit: number, skip: (seq: number) => boolean): QueuedMessage[] {
    const out: QueuedMessage[] = []
    if (limit <= 0 || this.swapping) return out
    for (const key of this.env.queue.getKeys({ start: [queue], end: [queue, PRIORITIES.length] })) {
      const seq = (key as QueueKey)[2]
      if (skip(seq)) continue
      const record = this.env.queue.get(key as QueueKey)
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
        if (here.has(key) || this.env.seen.get(key) !== undefined) {
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
        this.env.queue.remove(keyOf(m.from)).catch(settled)
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
      this.env.queue.put(keyOf(record), record).catch(settled)
      this.count(q.queue, 1)
      return record
    })
  }

  private deliverInTxn (envelope: Envelope, mailboxes: string[], key = copyKey(envelope)): void {
    const at = Date.now()
    for (const mailbox of mailboxes) {
      const seq = ++this.counters.seq
      this.env.deliveries.put(seq, {
        seq, mailbox, mtsId: envelope.mtsId, originator: envelope.originator, subject: envelope.subject,
        kind: envelope.kind, submitted: envelope.submitTime, at, hops: envelope.trace.map(h => h.server)
      }).catch(settled)
      this.counters.delivered++
      if (this.txnCounts !== undefined) this.txnCounts.delivered++
    }
    this.env.seen.put(key, at).catch(settled)
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
    while (this.maintenance !== undefined) await this.maintenance
    const counts: TxnCounts = { delivered: 0, duplicatesSuppressed: 0, depths: new Map() }
    this.writing++
    try {
      await this.env.root.transaction(() => {
        this.txnCounts = counts
        try { fn() } finally { this.txnCounts = undefined }
      })
      if (durable) await this.env.root.flushed
    } catch (err) {
      this.counters.delivered -= counts.delivered
      this.counters.duplicatesSuppressed -= counts.duplicatesSuppressed
      for (const [queue, by] of counts.depths) this.depths.set(queue, Math.max(0, (this.depths.get(queue) ?? 0) - by))
      throw await storeFailure(err)
    } finally {
      this.writing--
      this.lastWriteAt = Date.now()
    }
  }

  /**
   * Checks every `everyMs` whether the store is worth compacting and compacts it (compactIfIdle);
   * `report` hears of each compaction, or of one that failed.
   */
  startMaintenance (report: (outcome: { beforeBytes: number, afterBytes: number, ms: number } | { error: Error }) => void, everyMs = COMPACT_IDLE_MS): void {
    this.maintenanceTimer = setInterval(() => {
      this.compactIfIdle().then(done => { if (done !== undefined) report(done) }, (err: Error) => report({ error: err }))
    }, everyMs)
    this.maintenanceTimer.unref()
  }

  /**
   * Compacts the store when it has been idle for COMPACT_IDLE_MS, every queue is empty, and its
   * file is mostly free pages (worthCompacting): a compacted copy is written while the store
   * still serves reads, then, with every write held back, the environment is closed, the copy
   * renamed over its data file and the environment opened again. That gives the disk back and
   * unmaps every page the drained queues had read. A crash at any point leaves a whole store:
   * the old file until the rename, the copy after it, and no write in between. One that fails
   * leaves the store as it was and is not tried again for a minute, then two, up to an hour.
   * Returns what it did, or undefined when there was nothing to do.
   */
  async compactIfIdle (now = Date.now()): Promise<{ beforeBytes: number, afterBytes: number, ms: number } | undefined> {
    if (this.maintenance !== undefined || this.writing > 0 || now - this.lastWriteAt < COMPACT_IDLE_MS || now < this.compactNotBefore) return undefined
    if ([...this.depths.values()].some(n => n > 0)) return undefined
    const beforeBytes = dataFileBytes(this.path)
    if (!worthCompacting(beforeBytes, liveBytes(this.env))) return undefined
    let release = (): void => undefined
    this.maintenance = new Promise<void>(resolve => { release = resolve })
    const started = Date.now()
    try {
      await this.env.root.flushed
      const copy = await writeCompactedCopy(this.env.root, this.path)
      this.reach('mid-compaction')
      // Nothing but microtasks runs from here to the reopen: no timer, socket or request sees a closed store.
      this.swapping = true
      try {
        await this.env.root.close()
        replaceDataFile(copy, this.path)
        this.reach('after-compaction')
      } finally {
        this.env = openStoreEnv(this.path)
        this.swapping = false
      }
      this.compactBackoffMs = COMPACT_RETRY_MS
      return { beforeBytes, afterBytes: dataFileBytes(this.path), ms: Date.now() - started }
    } catch (err) {
      removeStaleCopy(this.path)
      this.compactNotBefore = now + this.compactBackoffMs
      this.compactBackoffMs = Math.min(this.compactBackoffMs * 2, COMPACT_RETRY_MAX_MS)
      throw err
    } finally {
      this.maintenance = undefined
      release()
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
        if (!this.env.queue.doesExist(key)) continue
        this.count(record.queue, -1)
        this.env.queue.remove(key).catch(settled)
      }
    }, false)
  }

  /** Saves a message's transfer failure count so a restart does not reset it. */
  async updateQueued (record: QueuedMessage): Promise<void> {
    await this.write(() => { this.env.queue.put(keyOf(record), record).catch(settled) }, false)
  }

  async countNdr (): Promise<void> {
    this.counters.ndrs++
    await this.write(() => { this.env.meta.put('ndrs', this.counters.ndrs).catch(settled) }, false)
  }

  /** Deliveries in order, optionally after a sequence number (for paging). */
  listDeliveries (after = 0, limit = 10_000): Delivery[] {
    if (this.swapping) throw new StoreFailedError('the store is being compacted: ask again in a moment')
    const out: Delivery[] = []
    for (const { value } of this.env.deliveries.getRange({ start: after + 1, limit })) out.push(value)
    return out
  }

  private putCounters (): void {
    for (const [k, v] of Object.entries(this.counters)) this.env.meta.put(k, v).catch(settled)
  }

  /** Writes the queue counts down, marks the store closed cleanly (so the next start skips the full check), and closes it. */
  async close (): Promise<void> {
    if (this.maintenanceTimer !== undefined) clearInterval(this.maintenanceTimer)
    while (this.maintenance !== undefined) await this.maintenance
    try {
      await this.write(() => {
        for (const { key } of this.env.meta.getRange({ start: 'depth:', end: 'depth;' })) this.env.meta.remove(key).catch(settled)
        for (const [q, n] of this.depths) if (n > 0) this.env.meta.put(`depth:${q}`, n).catch(settled)
        this.env.meta.put('depthsKept', 1).catch(settled)
        this.env.meta.put('open', 0).catch(settled)
      })
    } finally {
      await this.env.root.close()
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
