import pino, { type Logger } from 'pino'
import type { MtaEvent } from '@xcon/core'

export type { Logger }

/**
 * One pino root per MTA: JSON lines on stdout with `server`, `site` and `build` on every line.
 * Writes are synchronous so that a `kill -9` never eats the last lines that show a leak building.
 */
export function createLogger (base: { server: string, site: string, build: number }, level = process.env.XCON_LOG_LEVEL ?? 'info'): Logger {
  return pino({
    level,
    base: { ...base, pid: process.pid },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) }
  }, pino.destination({ dest: 1, sync: true }))
}

/** Logs one Exchange event: `eventId`, `type`, `category` as fields and the event text as the message. */
export function logEvent (log: Logger, event: MtaEvent, fields: Record<string, unknown> = {}): void {
  const line = { eventId: event.eventId, type: event.type, category: event.category, ...fields }
  if (event.type === 'Error') log.error(line, event.text)
  else if (event.type === 'Warning') log.warn(line, event.text)
  else log.info(line, event.text)
}
