import type { DeliveryRecord } from './admin/admin-contract.js'
import type { Envelope } from './message.js'
import type { TransferMessage, TransferOutcome } from './protocol/frames.js'

/**
 * The narrow interfaces through which the MTA's behaviour (MtaNode, PeerQueue) reaches the world.
 * The process shell (packages/mta) plugs in the system clock, pino, LMDB and WebSockets; the
 * simulator (`xcon simulate`) a virtual clock, an in-memory log, store and network.
 */

/** Time and timers. The handle a timer returns is the implementation's own. */
export interface Clock {
  now: () => number
  setTimeout: (fn: () => void, ms: number) => unknown
  clearTimeout: (t: unknown) => void
}

/** A pino-compatible logger: an object of fields, then the message. */
export interface LogSink {
  debug: (obj: object, msg?: string) => void
  info: (obj: object, msg?: string) => void
  warn: (obj: object, msg?: string) => void
  error: (obj: object, msg?: string) => void
}

/** A message waiting in one outbound queue (`server:SRV-B`, `connector:CORP-BRANCH` or `ims`). */
export interface QueuedMessage {
  seq: number
  queue: string
  envelope: Envelope
  content: Uint8Array
  transferFailures: number
  enqueuedAt: number
}

export interface StoreCounters {
  delivered: number
  duplicatesSuppressed: number
  ndrs: number
  mtsCounter: number
  seq: number
}

/** What the start-up check found (MTACHECK, 2219/2206/2207). */
export interface StoreCheck {
  /** True when the store was not closed cleanly last time (a kill -9, a crash, a power cut). */
  unclean: boolean
  /** Messages found per queue, and in all. */
  queues: Record<string, number>
  messages: number
  /** Records that could not be read as messages, moved out of the queues into `mtacheck.out`. */
  removed: number
  /** Records rewritten from an older key layout. */
  rebuilt: number
}

/** What a queue window reads: one queue's stored messages in delivery order. */
export interface QueueReader {
  readQueue: (queue: string, limit: number, skip: (seq: number) => boolean) => QueuedMessage[]
}

/**
 * The MTA's durable state. Every promise resolves only once what it wrote would survive a kill:
 * the MTA tells a peer or a client about a write only after that.
 */
export interface MailStore extends QueueReader {
  readonly counters: StoreCounters
  openAndCheck: () => Promise<StoreCheck>
  nextMtsCounter: () => number
  /** Queues copies for peers and delivers local copies, atomically. */
  submit: (queued: Array<Omit<QueuedMessage, 'seq'>>, locals: Array<{ envelope: Envelope, mailboxes: string[] }>) => Promise<QueuedMessage[]>
  /**
   * Accepts the messages of one transfer exactly once, in one transaction: each delivers its local
   * copies and queues its onward ones, unless a copy with the same MTS-ID and recipients was seen
   * before (or earlier in the same transfer), which is a suppressed duplicate. One answer per message, in order.
   */
  accept: (messages: ReadonlyArray<{ envelope: Envelope, mailboxes: string[], onward: Array<Omit<QueuedMessage, 'seq'>> }>) => Promise<Array<{ duplicate: boolean, records: QueuedMessage[] }>>
  requeue: (moves: Array<{ from: QueuedMessage, to: Omit<QueuedMessage, 'seq'> }>) => Promise<QueuedMessage[]>
  /** Removes messages the next hop acknowledged (or that were answered), in one transaction. */
  dequeue: (records: readonly QueuedMessage[]) => Promise<void>
  updateQueued: (record: QueuedMessage) => Promise<void>
  countNdr: () => Promise<void>
  listDeliveries: (after?: number, limit?: number) => DeliveryRecord[]
  close: () => Promise<void>
}

/** The sending half of a bound outbound association, as the queue uses it. */
export interface TransferLink {
  readonly assocId: string
  readonly open: boolean
  /** Sends one transfer of several messages; resolves with the peer's outcome for each, in order. */
  transfer: (messages: readonly TransferMessage[]) => Promise<TransferOutcome[]>
}

export function isTransferLink (v: unknown): v is TransferLink {
  return typeof v === 'object' && v !== null && typeof (v as TransferLink).transfer === 'function' && typeof (v as TransferLink).assocId === 'string'
}

/** Whether the MTA takes new mail: closed below the disk reserve (9411). */
export interface Intake {
  readonly intakeOpen: boolean
  readonly freeBytes: number | undefined
  /**
   * Throws DiskFullError while intake is closed, or when a commit of `records` records holding
   * `bytes` of content would take the disk under the reserve (intake then closes).
   */
  assertRoom: (records: number, bytes: number) => void
  /** A write to the store failed: true when for want of space, and intake has closed (9411). */
  writeFailed: (err: unknown) => boolean
}

/** Rate-limits what strangers make the MTA log (FloodLog in the shell). */
export interface FloodGate {
  admit: (kind: string, detail: string) => boolean
}
