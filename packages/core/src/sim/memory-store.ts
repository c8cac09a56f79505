import type { DeliveryRecord } from '../admin/admin-contract.js'
import { PRIORITIES, type Envelope } from '../message.js'
import type { MailStore, QueuedMessage, StoreCheck, StoreCounters } from '../ports.js'

/** The key of one copy (MTS-ID and its sorted recipients): seen twice, it is a retransmission. */
function copyKey (envelope: Envelope): string {
  return `${envelope.mtsId}\n${[...envelope.recipients].sort().join('\n')}`
}

/** A promise that never settles: what a killed MTA's write is waiting for. */
const never = new Promise<never>(() => undefined)

/**
 * The durable state of one simulated MTA, kept across its kills and restarts as its LMDB files
 * are. A write completes at the instant it is made (a resolved promise). Each incarnation of the
 * MTA works through its own `open()`ed view; once that view is revoked (the MTA was killed),
 * nothing it does reaches the state any more and its pending writes never complete.
 */
export class MemoryStore {
  /** Queue name → priority lane → messages by sequence number, in arrival order. */
  private readonly queues = new Map<string, Array<Map<number, QueuedMessage>>>()
  private readonly seen = new Set<string>()
  private readonly deliveries: DeliveryRecord[] = []
  readonly counters: StoreCounters = { delivered: 0, duplicatesSuppressed: 0, ndrs: 0, mtsCounter: 0, seq: 0 }
  /** True from an open until a clean close: still true at the next open after a kill. */
  private openFlag = false
  private generation = 0

  constructor (private readonly now: () => number) {}

  /** Messages waiting in all queues. */
  get depth (): number {
    let n = 0
    for (const lanes of this.queues.values()) for (const lane of lanes) n += lane.size
    return n
  }

  /** A view for one incarnation of the MTA; `revoke()` ends it (a kill). */
  open (): MailStore & { revoke: () => void } {
    const gen = ++this.generation
    const live = (): boolean => gen === this.generation
    const s = this
    const write = async <T>(fn: () => T): Promise<T> => live() ? fn() : await never
    return {
      get counters () { return s.counters },
      revoke: () => { if (live()) this.generation++ },
      openAndCheck: async () => await write(() => this.check()),
      readQueue: (queue, limit, skip) => live() ? this.readQueue(queue, limit, skip) : [],
      nextMtsCounter: () => ++this.counters.mtsCounter,
      submit: async (queued, locals) => await write(() => {
        const records = queued.map(q => this.put(q))
        for (const l of locals) this.deliver(l.envelope, l.mailboxes)
        return records
      }),
      accept: async (messages) => await write(() => messages.map(({ envelope, mailboxes, onward }) => {
        const key = copyKey(envelope)
        if (this.seen.has(key)) {
          this.counters.duplicatesSuppressed++
          return { duplicate: true, records: [] }
        }
        this.deliver(envelope, mailboxes, key)
        return { duplicate: false, records: onward.map(q => this.put(q)) }
      })),
      requeue: async (moves) => await write(() => {
        for (const m of moves) this.remove(m.from)
        return moves.map(m => this.put(m.to))
      }),
      dequeue: async (records) => { await write(() => { for (const r of records) this.remove(r) }) },
      updateQueued: async (record) => { await write(() => { this.lane(record.queue, record.envelope.priority).set(record.seq, record) }) },
      countNdr: async () => { await write(() => { this.counters.ndrs++ }) },
      listDeliveries: (after = 0, limit = 10_000) => this.listDeliveries(after, limit),
      close: async () => { await write(() => { this.openFlag = false }) }
    }
  }

  private check (): StoreCheck {
    const unclean = this.openFlag
    this.openFlag = true
    const queues: Record<string, number> = {}
    for (const [q, lanes] of this.queues) {
      const n = lanes.reduce((a, l) => a + l.size, 0)
      if (n > 0) queues[q] = n
    }
    return { unclean, queues, messages: Object.values(queues).reduce((a, b) => a + b, 0), removed: 0, rebuilt: 0 }
  }

  private lane (queue: string, priority: Envelope['priority']): Map<number, QueuedMessage> {
    let lanes = this.queues.get(queue)
    if (lanes === undefined) { lanes = PRIORITIES.map(() => new Map()); this.queues.set(queue, lanes) }
    return lanes[PRIORITIES.indexOf(priority)]!
  }

  private put (q: Omit<QueuedMessage, 'seq'>): QueuedMessage {
    const record = { ...q, seq: ++this.counters.seq }
    this.lane(record.queue, record.envelope.priority).set(record.seq, record)
    return record
  }

  private remove (record: QueuedMessage): void {
    this.queues.get(record.queue)?.[PRIORITIES.indexOf(record.envelope.priority)]?.delete(record.seq)
  }

  private readQueue (queue: string, limit: number, skip: (seq: number) => boolean): QueuedMessage[] {
    const out: QueuedMessage[] = []
    for (const lane of this.queues.get(queue) ?? []) {
      for (const [seq, record] of lane) {
        if (out.length >= limit) return out
        if (!skip(seq)) out.push(record)
      }
    }
    return out
  }

  private deliver (envelope: Envelope, mailboxes: string[], key = copyKey(envelope)): void {
    const at = this.now()
    for (const mailbox of mailboxes) {
      const seq = ++this.counters.seq
      this.deliveries.push({ seq, mailbox, mtsId: envelope.mtsId, originator: envelope.originator, subject: envelope.subject, kind: envelope.kind, submitted: envelope.submitTime, at, hops: envelope.trace.map(h => h.server) })
      this.counters.delivered++
    }
    this.seen.add(key)
  }

  /** Deliveries after sequence number `after`, in order (a binary search: the list only grows). */
  listDeliveries (after = 0, limit = 10_000): DeliveryRecord[] {
    let lo = 0
    let hi = this.deliveries.length
    while (lo < hi) {
      const mid = (lo + hi) >> 1
      if (this.deliveries[mid]!.seq <= after) lo = mid + 1
      else hi = mid
    }
    return this.deliveries.slice(lo, lo + limit)
  }
}
