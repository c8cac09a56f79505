import pino, { type Logger } from 'pino'

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

export { logEvent } from '@xcon/core'
