import nodemailer, { type Transporter } from 'nodemailer'
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server'
import {
  afterFailedOpen, classifyAddress, smtpAddress, unknownRecipients, DiskFullError, MessageTooLargeError, TooManyRecipientsError, XconError,
  QueueWindow, type ImsSpec, type MtaConfig, type QueuedMessage, type SmtpQueueStatus, type Submission
} from '@xcon/core'
import type { Clock } from './clock.js'
import type { Logger } from './logger.js'
import type { MtaStore } from './store.js'

/** Messages handed to the smart host at once. */
const SMTP_CONCURRENCY = 4

/** Reads the Subject header of an Internet message (enough for the envelope's subject). */
function subjectOf (raw: Buffer): string {
  const head = raw.subarray(0, Math.min(raw.length, 64 * 1024)).toString('utf8').split(/\r?\n\r?\n/, 1)[0] ?? ''
  const m = /^subject:[ \t]*(.*(?:\r?\n[ \t].*)*)/im.exec(head)
  return m === null ? '' : m[1]!.replace(/\r?\n[ \t]+/g, ' ').trim()
}

/**
 * The SMTP side of an Internet Mail Service: takes mail for the organisation's mailboxes
 * (alias@<server>.<domain>, or alias@SERVER) and answers 250 only after the message is durably
 * queued. It is not an open relay: Internet recipients get 550.
 */
export class ImsListener {
  private readonly server: SMTPServer
  port: number | undefined

  constructor (
    private readonly config: MtaConfig, private readonly ims: ImsSpec, private readonly log: Logger,
    submit: (s: Submission) => Promise<string>, intakeOpen: () => boolean
  ) {
    const name = `${config.server.name.toLowerCase()}.${config.topology.domain}`
    const { maxMessageBytes, maxRecipients } = config.limits
    this.server = new SMTPServer({
      name,
      banner: `Microsoft Exchange Internet Mail Service 5.5.${config.server.build} (xcon) ready`,
      // Announced as SIZE in EHLO; MAIL FROM with a larger SIZE= and a larger DATA both get 552.
      size: maxMessageBytes,
      authOptional: true,
      disabledCommands: ['AUTH', 'STARTTLS'],
      logger: false,
      onMailFrom: (_address: SMTPServerAddress, _session: SMTPServerSession, callback: (err?: Error | null) => void) => {
        callback(intakeOpen() ? null : smtpError(452, '4.3.1 Insufficient system storage'))
      },
      onRcptTo: (address: SMTPServerAddress, session: SMTPServerSession, callback: (err?: Error | null) => void) => {
        if (session.envelope.rcptTo.length >= maxRecipients) return callback(smtpError(452, `4.5.3 too many recipients (at most ${maxRecipients} per message)`))
        try {
          const r = classifyAddress(config.topology, address.address)
          if (r.kind === 'external') return callback(smtpError(550, `5.7.1 ${address.address}: relaying denied`))
          // The IMS asks the directory before it takes responsibility: no bounce to a forged sender later.
          const [unknown] = unknownRecipients(config.topology, [address.address])
          if (unknown !== undefined) return callback(smtpError(550, `5.1.1 ${address.address}: ${unknown.reason}`))
          callback()
        } catch (err) {
          callback(smtpError(550, `5.1.1 ${address.address}: ${(err as Error).message}`))
        }
      },
      onData: (stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void) => {
        const chunks: Buffer[] = []
        let bytes = 0
        // Past the limit only count: smtp-server flags sizeExceeded, and nothing more is held.
        stream.on('data', (c: Buffer) => { bytes += c.length; if (bytes <= maxMessageBytes) chunks.push(c) })
        stream.on('end', () => {
          if (stream.sizeExceeded) return callback(smtpError(552, `5.3.4 message larger than the maximum message size of ${maxMessageBytes} bytes`))
          const raw = Buffer.concat(chunks)
          const from = session.envelope.mailFrom === false ? 'postmaster@unknown.invalid' : session.envelope.mailFrom.address || 'postmaster@unknown.invalid'
          const to = session.envelope.rcptTo.map(r => r.address)
          submit({ from, to, subject: subjectOf(raw), content: raw, format: 'rfc822', external: true }).then(
            mtsId => {
              this.log.info({ category: 'Interface', mtsId, from, to, bytes: raw.length }, `IMS accepted a message from ${from} over SMTP`)
              callback(null, `2.0.0 queued as ${mtsId}`)
            },
            (err: Error) => callback(smtpReply(err))
          )
        })
      }
    })
    this.server.on('error', (err) => this.log.error({ err }, 'SMTP listener error'))
  }

  async listen (): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject)
      this.server.listen(this.ims.port ?? 0, this.ims.host, () => resolve())
    })
    this.port = (this.server.server.address() as { port: number }).port
    return this.port
  }

  async close (): Promise<void> {
    await new Promise<void>(resolve => this.server.close(() => resolve()))
  }
}

/** The SMTP answer to a submission the MTA refused. */
function smtpReply (err: Error): Error {
  // RFC 3463: 4.3.1 is "mail system full", the reply Exchange's IMS gave with its disk full.
  if (err instanceof DiskFullError) return smtpError(452, '4.3.1 Insufficient system storage')
  if (err instanceof MessageTooLargeError) return smtpError(552, `5.3.4 ${err.message}`)
  if (err instanceof TooManyRecipientsError) return smtpError(452, `4.5.3 ${err.message}`)
  return err instanceof XconError && err.definite ? smtpError(550, `5.1.1 ${err.message}`) : smtpError(451, `4.3.0 ${err.message}`)
}

function smtpError (code: number, text: string): Error {
  return Object.assign(new Error(text), { responseCode: code })
}

/** What the IMS outbound queue asks of its MTA. */
export interface ImsQueueHost {
  config: MtaConfig
  log: Logger
  store: MtaStore
  clock: Clock
  nonDelivery: (item: QueuedMessage, reason: string, diagnostic: string) => Promise<void>
}

/**
 * The Internet Mail Connector queue: mail for Internet addresses, handed to the smart host over
 * SMTP. A message leaves the queue only after the smart host said 250; a failing smart host is
 * retried every open interval, and after the last retry the mail is answered with an NDR.
 */
export class ImsQueue {
  readonly key = 'ims'
  private readonly waiting: QueueWindow
  /** Messages being handed to the smart host, or answered, by sequence number. */
  private readonly busy = new Set<number>()
  private failures = 0
  private retryTimer: NodeJS.Timeout | undefined
  private stopped = false
  private readonly transport: Transporter | undefined
  sent = 0
  lastFailure: { at: number, reason: string } | undefined

  constructor (private readonly host: ImsQueueHost, smartHost: string | undefined) {
    this.waiting = new QueueWindow(this.key, host.store, 256, seq => this.busy.has(seq))
    if (smartHost !== undefined) {
      const [h, p] = smartHost.split(':')
      this.transport = nodemailer.createTransport({
        host: h, port: Number(p), secure: false, ignoreTLS: true, pool: true, maxConnections: SMTP_CONCURRENCY,
        name: `${host.config.server.name.toLowerCase()}.${host.config.topology.domain}`,
        connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 30_000
      })
    }
  }

  private get inFlight (): number {
    return this.busy.size
  }

  get depth (): number {
    return this.waiting.length + this.inFlight
  }

  status (): SmtpQueueStatus {
    return {
      depth: this.depth,
      state: this.retryTimer !== undefined ? 'retry-wait' : this.inFlight > 0 ? 'sending' : 'idle',
      failedOpens: this.failures,
      sent: this.sent,
      lastFailure: this.lastFailure === undefined ? null : { at: new Date(this.lastFailure.at).toISOString(), reason: this.lastFailure.reason }
    }
  }

  add (items: QueuedMessage[]): void {
    this.waiting.add(items)
    this.pump()
  }

  /** Messages found in the store at start-up; read from disk as the queue reaches them. */
  restore (count: number): void {
    this.waiting.restore(count)
    this.pump()
  }

  private pump (): void {
    if (this.stopped || this.retryTimer !== undefined) return
    while (this.inFlight < SMTP_CONCURRENCY) {
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
    const { envelope } = item
    if (this.transport === undefined) {
      await this.host.nonDelivery(item, 'unable-to-transfer', 'no smart host configured for the Internet Mail Service')
      await this.host.store.dequeue(item)
      return
    }
    const [alias, server] = envelope.originator.split('@')
    const from = server !== undefined && server in this.host.config.topology.servers ? smtpAddress(this.host.config.topology, alias!, server) : envelope.originator
    try {
      await this.transport.sendMail(envelope.format === 'rfc822'
        ? { envelope: { from, to: envelope.recipients }, raw: Buffer.from(item.content) }
        : { envelope: { from, to: envelope.recipients }, from, to: envelope.recipients, subject: envelope.subject, text: Buffer.from(item.content).toString('utf8'), messageId: `<${envelope.mtsId.replace(/[^A-Za-z0-9.-]/g, '.')}@${this.host.config.topology.domain}>` })
      this.failures = 0
      this.sent++
      await this.host.store.dequeue(item)
    } catch (err) {
      const e = err as Error & { responseCode?: number }
      if (e.responseCode !== undefined && e.responseCode >= 500) {
        // The smart host refused the message for good: report non-delivery now.
        await this.host.nonDelivery(item, 'unable-to-transfer', `smart host said ${e.responseCode}: ${e.message}`)
        await this.host.store.dequeue(item)
        return
      }
      this.failed(item, e.message)
    }
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
      this.waiting.drainEach(500, this.busy, async i => {
        await this.host.nonDelivery(i, 'unable-to-transfer', 'maximum-time-expired')
        await this.host.store.dequeue(i)
      }).catch((err: Error) => this.host.log.error({ err }, `IMS queue: ${err.message}`))
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
    if (this.retryTimer !== undefined) this.host.clock.clearTimeout(this.retryTimer)
    const deadline = Date.now() + graceMs
    while (this.inFlight > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    this.transport?.close()
  }
}
