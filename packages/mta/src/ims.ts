import nodemailer, { type Transporter } from 'nodemailer'
import { SMTPServer, type SMTPServerAddress, type SMTPServerDataStream, type SMTPServerSession } from 'smtp-server'
import {
  classifyAddress, smtpAddress, unknownRecipients, DiskFullError, MessageTooLargeError, TooManyRecipientsError, XconError,
  type ImsSpec, type MtaConfig, type QueuedMessage, type RelayAnswer, type SmtpRelay, type Submission
} from '@xcon/core'
import type { Logger } from './logger.js'

/** Connections to the smart host at once (core's SmtpQueue hands it as many messages). */
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

/**
 * The IMS's SMTP client to its smart host (nodemailer, pooled): the I/O under core's SmtpQueue,
 * which decides what a failure means (retry every open interval, NDR after the last).
 */
export function nodemailerRelay (config: MtaConfig, smartHost: string): SmtpRelay {
  const [h, p] = smartHost.split(':')
  const transport: Transporter = nodemailer.createTransport({
    host: h, port: Number(p), secure: false, ignoreTLS: true, pool: true, maxConnections: SMTP_CONCURRENCY,
    name: `${config.server.name.toLowerCase()}.${config.topology.domain}`,
    connectionTimeout: 5000, greetingTimeout: 5000, socketTimeout: 30_000
  })
  return {
    send: async (item: QueuedMessage): Promise<RelayAnswer> => {
      const { envelope } = item
      const [alias, server] = envelope.originator.split('@')
      const from = server !== undefined && server in config.topology.servers ? smtpAddress(config.topology, alias!, server) : envelope.originator
      try {
        await transport.sendMail(envelope.format === 'rfc822'
          ? { envelope: { from, to: envelope.recipients }, raw: Buffer.from(item.content) }
          : { envelope: { from, to: envelope.recipients }, from, to: envelope.recipients, subject: envelope.subject, text: Buffer.from(item.content).toString('utf8'), messageId: `<${envelope.mtsId.replace(/[^A-Za-z0-9.-]/g, '.')}@${config.topology.domain}>` })
        return { ok: true }
      } catch (err) {
        const e = err as Error & { responseCode?: number }
        // A 5xx is the smart host refusing the message for good; anything else is not reaching it.
        if (e.responseCode !== undefined && e.responseCode >= 500) return { ok: false, definite: true, reason: `smart host said ${e.responseCode}: ${e.message}` }
        return { ok: false, definite: false, reason: e.message }
      }
    },
    close: () => { transport.close() }
  }
}
