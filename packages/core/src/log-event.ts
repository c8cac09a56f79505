import type { MtaEvent } from './events.js'
import type { LogSink } from './ports.js'

/** Logs one Exchange event: `eventId`, `type`, `category` as fields and the event text as the message. */
export function logEvent (log: LogSink, event: MtaEvent, fields: Record<string, unknown> = {}): void {
  const line = { eventId: event.eventId, type: event.type, category: event.category, ...fields }
  if (event.type === 'Error') log.error(line, event.text)
  else if (event.type === 'Warning') log.warn(line, event.text)
  else log.info(line, event.text)
}
