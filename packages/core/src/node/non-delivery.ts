import { nonDeliveryGenerated } from '../events.js'
import type { LogSink, MailStore, QueuedMessage } from '../ports.js'
import { nonDeliveryReport } from '../routing/decisions.js'
import type { MtaCounters } from './mta-counters.js'
import type { Submission } from './submission.js'

export interface NonDeliveryPorts {
  log: LogSink
  store: Pick<MailStore, 'countNdr'>
  counters: Pick<MtaCounters, 'event'>
  /** Submits the report as the MTA's own mail. */
  submit: (s: Submission) => Promise<string>
}

/** Logs 290 and answers the originator with a report; a report is never answered with another. */
export function nonDelivery (ports: NonDeliveryPorts) {
  return async (item: QueuedMessage, reason: string, diagnostic: string): Promise<void> => {
    const { envelope } = item
    ports.counters.event(nonDeliveryGenerated(envelope.mtsId, reason, diagnostic), { mtsId: envelope.mtsId, recipients: envelope.recipients, queue: item.queue || null })
    await ports.store.countNdr()
    const report = nonDeliveryReport(envelope, reason, diagnostic)
    if (report === undefined) return
    try {
      // An NDR to an Internet originator leaves through the IMS like any other Internet mail.
      await ports.submit({ from: 'system-attendant', to: [report.to], subject: report.subject, content: new TextEncoder().encode(report.text), kind: 'report' })
    } catch (err) {
      ports.log.error({ err, mtsId: envelope.mtsId }, 'could not submit the non-delivery report')
    }
  }
}

/** Answers one message with a non-delivery report. */
export type NonDelivery = ReturnType<typeof nonDelivery>
