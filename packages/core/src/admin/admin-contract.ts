import type { Priority } from '../message.js'

/**
 * The admin API of every MTA, as types: the MTA answers with them, and the CLI and the bench read
 * them, so that a field renamed on one side fails to compile on the other. The field names are a
 * contract with users too (docs/configuration.md, `xcon status --json`).
 */

/** The state of one outbound queue: a server of the site, a connector, or the IMS's SMTP queue. */
export interface QueueStatus {
  /** The server it opens to now (a Site Connector tries its targets in turn). */
  peer: string
  depth: number
  inFlight: number
  state: 'idle' | 'opening' | 'bound' | 'retry-wait' | 'draining' | 'stopped'
  failedOpens: number
  /** ISO time of the next open retry, while waiting for it. */
  nextRetryAt: string | null
  lastFailure: { at: string, reason: string } | null
  sent: number
}

/** The IMS's outbound SMTP queue to its smart host. */
export interface SmtpQueueStatus {
  depth: number
  state: 'idle' | 'sending' | 'retry-wait'
  failedOpens: number
  sent: number
  lastFailure: { at: string, reason: string } | null
}

export interface ControlBlockStatus {
  capacity: number
  free: number
  inUse: number
  leaked: number
  /** The listener's block (Q243632). */
  listening: number
  /** 5 for the intra-site RPC pool (Q168815). */
  networkType: number
  leakedByKind: Record<string, number>
  /** How many opens found no free block (each one a 9156). */
  exhaustedCount: number
  /** Estimated MTA seconds until no block is free, at the recent leak rate; null while nothing leaks (xcon_control_blocks_exhaustion_seconds). */
  exhaustionSeconds: number | null
}

/** `GET /status`. */
export interface MtaStatusDocument {
  name: string
  site: string
  build: number
  servicePack: string
  state: 'starting' | 'running' | 'stopping' | 'stopped'
  pid: number
  port: number | null
  uptimeSeconds: number
  timeScale: number
  controlBlocks: ControlBlockStatus
  connectorControlBlocks: { capacity: number, free: number, inUse: number, leaked: number, networkType: number }
  associations: Array<{ id: string, peer: string | null, direction: 'inbound' | 'outbound', state: 'opening' | 'bound', controlBlock: number }>
  queues: QueueStatus[]
  connectors: Array<QueueStatus & { name: string, type: string, cost: number }>
  smtp?: { port: number | null, domain: string, smartHost: string | null, queue: SmtpQueueStatus }
  /** Intake closes below the disk reserve (9411); queued mail still goes out. */
  intake: { open: boolean, freeBytes: number | null, minFreeBytes: number }
  limits: { maxMessageBytes: number, maxRecipients: number }
  inboundUnbound: number
  /** Outbound opens waiting for a turn: at most XCON_MAX_OPENING connect or bind at once in each pool (the pool's turns, pool.machine.ts). */
  opensWaiting: number
  /** What the store check at start-up found (MTACHECK: 2219/2206/2207); unclean after a kill -9. */
  storeCheck: { unclean: boolean, queues: Record<string, number>, messages: number, removed: number, rebuilt: number } | null
  delivered: number
  duplicatesSuppressed: number
  ndrs: number
  /** Events logged since start, by event ID. */
  events: Record<number, number>
}

/** `POST /submit`: one message, `count` times (each its own MTS-ID). */
export interface SubmitRequest {
  to: string | string[]
  from?: string
  subject?: string
  body?: string
  priority?: Priority
  count?: number
}

/** The answer to `POST /submit`: the MTS-IDs, and the recipients the directory did not know (each got an NDR). */
export interface SubmitAnswer {
  mtsIds: string[]
  nonDelivered?: Array<{ recipient: string, reason: string }>
}

/** One delivery to a mailbox of the MTA, as `GET /deliveries?after=N` lists them. */
export interface DeliveryRecord {
  seq: number
  mailbox: string
  mtsId: string
  originator: string
  subject: string
  kind: 'message' | 'report'
  /** When it was submitted (at its first MTA) and when it was stored here, epoch ms. */
  submitted: number
  at: number
  hops: string[]
}

export interface DeliveriesAnswer { deliveries: DeliveryRecord[] }

/** Every error answer: a stable code from the error table, and a message that names the problem. */
export interface AdminErrorBody { error: { code: string, message: string }, mtsIds?: string[] }
