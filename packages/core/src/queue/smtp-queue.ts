import type { SmtpQueueStatus } from '../admin/admin-contract.js'
import type { MtaConfig } from '../config/mta-config.js'
import type { Clock, LogSink, MailStore, QueuedMessage } from '../ports.js'
import { QueueWindow } from './queue-window.js'
import { afterFailedOpen } from './retry-policy.js'

/** Messages handed to the smart host at once. */
const SMTP_CONCURRENCY = 4

/** What the smart host said to one message: taken, refused for good (5xx), or not reached (try later). */
export type RelayAnswer = { ok: true } | { ok: false, definite: boolean, reason: string }

/** The SMTP client to the smart host (nodemailer in the shell; one that takes everything in the simulator). */
export interface SmtpRelay {
  send: (item: QueuedMessage) => Promise<RelayAnswer>
  close: () => void
}

/** What the IMS outbound queue asks of its MTA. */
export interface SmtpQueueHost {
  config: MtaConfig
  log: LogSink
  store: MailStore
  clock: Clock
  nonDelivery: (item: QueuedMessage, reason: string, diagnostic: string) => Promise<void>
}

/**
 * The Internet Mail Connector queue: mail for Internet addresses, handed to the smart host. A
 * message leaves the queue only after the smart host took it; a smart host that cannot be
 * reached is retried every open interval, and after the last retry the mail is answered with an
 * NDR (the same retry policy as the MTA's own queues). No smart host: every message gets an NDR.
 *
 * It does not run the queue machine: that machine's states are an association's (open, bound,
 * released after the disconnect time), and the smart host has none. Each message is its own SMTP
 * session, so nothing here is opened, bound or released; what the two queues share is the
 * decision after a failure (retry every open interval, NDRs after the last), in retry-policy.ts.
 */
export class SmtpQueue {
  readonly key = 'ims'
  private readonly waiting: QueueWindow
  /** Messages being handed to the smart host, or answered, by sequence number. */
  private readonly busy = new Set<number>()
  private failures = 0
  private retryTimer: unknown
  private stopped = false
  sent = 0
  lastFailure: { at: number, reason: string } | undefined

  constructor (private readonly host: SmtpQueueHost, private readonly relay: SmtpRelay | undefined) {
    this.waiting = new QueueWindow(this.key, host.store, 256, seq => this.busy.has(seq))
  }

  get depth (): number {
    return this.waiting.length + this.busy.size
  }

  status (): SmtpQueueStatus {
    return {
      depth: this.depth,
      state: this.retryTimer !== undefined ? 'retry-wait' : this.busy.size > 0 ? 'sending' : 'idle',
      failedOpens: this.failures,
      sent: this.sent,
      lastFailure: this.lastFailure === undefined ? null : { at: new Date(this.lastFailure.at).toISOString(), reason: this.lastFailure.reason }
    }
  }

  add (items: QueuedMessage[]): void {
    this.waiting.add(items)
    this.pump()
  }

  /** Messages found in the store at start-up; read from the store as the queue reaches them. */
  restore (count: number): void {
    this.waiting.restore(count)
    this.pump()
  }

  private pump (): void {
    if (this.stopped || this.retryTimer !== undefined) return
    while (this.busy.size < SMTP_CONCURRENCY) {
      const item = this.waiting.shift()
      if (item === undefined) break
      this.busy.add(item.seq)
      this.deliver(item).catch((err: Error) => this.host.log.error({ err }, `IMS queue: ${err.message}`)).finally(() => {
        this.busy.delete(item.seq)
        this.pump()
      })
    }
  }

  private async deliver (item: QueuedMessage): Promise<void> {
    if (this.relay === undefined) {
      await this.answer(item, 'no smart host configured for the Internet Mail Service')
      return
    }
    const answer = await this.relay.send(item)
    if (answer.ok) {
      this.failures = 0
      this.sent++
      await this.host.store.dequeue([item])
    } else if (answer.definite) {
      // The smart host refused the message for good: report non-delivery now.
      await this.answer(item, answer.reason)
    } else {
      this.failed(item, answer.reason)
    }
  }

  private async answer (item: QueuedMessage, diagnostic: string): Promise<void> {
    await this.host.nonDelivery(item, 'unable-to-transfer', diagnostic)
    await this.host.store.dequeue([item])
  }

  private failed (item: QueuedMessage, reason: string): void {
    const now = this.host.clock.now()
    this.lastFailure = { at: now, reason }
    this.waiting.unshift(item)
    if (this.retryTimer !== undefined) return
    this.failures++
    const decision = afterFailedOpen(this.host.config.retry, this.failures, now)
    if (decision.action === 'ndr') {
      this.failures = 0
      this.waiting.drainEach(500, { settle: i => this.busy.add(i.seq), settled: i => this.busy.delete(i.seq) }, async i => { await this.answer(i, 'maximum-time-expired') })
        .catch((err: Error) => this.host.log.error({ err }, `IMS queue: ${err.message}`))
      return
    }
    this.host.log.warn({ category: 'Interface', reason, retry: this.failures }, `IMS could not reach the smart host (${reason}); retry ${this.failures} of ${this.host.config.retry.maxOpenRetries}`)
    this.retryTimer = this.host.clock.setTimeout(() => {
      this.retryTimer = undefined
      this.pump()
    }, decision.at - now)
  }

  async stop (graceMs: number): Promise<void> {
    this.stopped = true
    const { clock } = this.host
    if (this.retryTimer !== undefined) clock.clearTimeout(this.retryTimer)
    const deadline = clock.now() + graceMs
    while (this.busy.size > 0 && clock.now() < deadline) await new Promise<void>(resolve => { clock.setTimeout(resolve, 20) })
    this.relay?.close()
  }
}
