import { clip } from '../clip.js'
import type { MtaConfig } from '../config/mta-config.js'
import { DiskFullError, StoreFailedError, type XconError } from '../errors.js'
import type { Envelope } from '../message.js'
import type { Clock, Intake, LogSink, MailStore, QueuedMessage } from '../ports.js'
import type { TransferAckFrame, TransferFrame, TransferOutcome } from '../protocol/frames.js'
import { acceptInbound } from '../routing/decisions.js'
import type { Route } from '../routing/route.js'
import { overLimit, queuedCopies } from './submission.js'

/** Stores an inbound transfer and answers it, only after the store is durable. */
export type AcceptTransfer = (frame: TransferFrame, peer: string, channel: string) => Promise<TransferAckFrame>

export interface InboundTransferPorts {
  config: MtaConfig
  clock: Clock
  log: LogSink
  store: Pick<MailStore, 'accept'>
  intake: Intake
  route: (recipients: readonly string[]) => Route
  /** Hands stored records to their queues. */
  enqueue: (records: QueuedMessage[]) => void
}

/**
 * Takes a transfer from a peer: each message is checked on its own (a refused one fails none of
 * the rest); the recipients here of those it takes are delivered, the others relayed on (this
 * MTA is a bridgehead, or mail crossed a connector), all in one durable transaction before the
 * acknowledgement, which names each message's outcome.
 */
export function inboundTransfer (ports: InboundTransferPorts): AcceptTransfer {
  const { config, clock, log, store, intake } = ports
  return async (frame, peer, channel) => {
    const results: TransferOutcome[] = []
    const refuse = (i: number, code: string, text: string, definite: boolean): void => {
      results[i] = { mtsId: frame.messages[i]!.envelope.mtsId, outcome: 'refused', code, text: clip(text === '' ? code : text, 1000), definite }
    }
    const refuseWith = (i: number, err: XconError): void => { refuse(i, err.code, err.message, err.definite) }
    const taken: Array<{ index: number, envelope: Envelope, mailboxes: string[], onward: Array<Omit<QueuedMessage, 'seq'>> }> = []
    const now = clock.now()
    frame.messages.forEach(({ envelope, content }, i) => {
      const over = overLimit(config.limits, content.byteLength, envelope.recipients.length)
      if (over !== undefined) return refuseWith(i, over)
      if (!intake.intakeOpen && envelope.kind !== 'report') return refuseWith(i, new DiskFullError('its disk is under the reserve until it has space again (9411)'))
      let routed: Route | Error
      try { routed = ports.route(envelope.recipients) } catch (err) { routed = err as Error }
      const decision = acceptInbound(envelope, { server: config.server.name, site: config.site.name }, routed, now)
      if (!decision.ok) return refuse(i, decision.code, decision.text, true)
      taken.push({ index: i, envelope: decision.arrived, mailboxes: decision.route.local, onward: queuedCopies(decision.arrived, content, decision.route, now) })
    })
    const mail = taken.filter(t => t.envelope.kind !== 'report')
    if (mail.length > 0) {
      try {
        intake.assertRoom(mail.reduce((n, t) => n + t.mailboxes.length + t.onward.length, 0), mail.reduce((n, t) => n + t.onward.reduce((b, o) => b + o.content.byteLength, 0), 0))
      } catch (err) {
        if (!(err instanceof DiskFullError)) throw err
        // No room for this transfer's mail: it stays with the sender, who sends it again later.
        for (const t of mail) refuseWith(t.index, err)
        taken.splice(0, taken.length, ...taken.filter(t => t.envelope.kind === 'report'))
      }
    }
    if (taken.length > 0) {
      try {
        const stored = await store.accept(taken)
        stored.forEach(({ duplicate, records }, k) => {
          const { index, envelope } = taken[k]!
          results[index] = { mtsId: envelope.mtsId, outcome: duplicate ? 'duplicate' : 'accepted' }
          if (duplicate) log.info({ category: 'X.400 Service', mtsId: envelope.mtsId, peer, channel }, `duplicate of ${envelope.mtsId} from ${peer} suppressed`)
          ports.enqueue(records)
        })
      } catch (err) {
        const space = intake.writeFailed(err)
        if (!space) log.error({ err, messages: taken.length, peer }, 'could not store a transfer')
        for (const { index } of taken) {
          refuseWith(index, space ? new DiskFullError(`its store has no room (${(err as Error).message})`) : new StoreFailedError((err as Error).message))
        }
      }
    }
    return { type: 'transfer_ack', seq: frame.seq, results }
  }
}
