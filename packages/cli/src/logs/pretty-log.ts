import { EVENT, LOG_TAG } from '@xcon/core'

/** One log line of an MTA, as pino wrote it. */
export interface LogRecord {
  time?: string
  level?: string
  server?: string
  eventId?: number
  category?: string
  msg?: string
  /** xcon's own lines that Exchange had no event for: `leak` (a control block lost), `action` (what the CLI did). */
  tag?: string
  err?: { message?: string }
  [key: string]: unknown
}

const COLOURS = { red: '\x1b[31m', yellow: '\x1b[33m', green: '\x1b[32m', dim: '\x1b[2m', bold: '\x1b[1m', reset: '\x1b[0m' }

/** Parses one line; undefined for anything that is not a JSON log record (it is shown as is). */
export function parseLogLine (line: string): LogRecord | undefined {
  if (!line.startsWith('{')) return undefined
  try {
    return JSON.parse(line) as LogRecord
  } catch {
    return undefined
  }
}

/**
 * A readable line: time, server, event ID (or `-` for xcon's own diagnostics), category, text.
 * `21:27:57.125  SRV-A   9156  Resource           A resource limit has been reached …`
 */
export function formatLogLine (line: string, colour = false): string {
  const r = parseLogLine(line)
  return r === undefined ? line : formatRecord(r, colour)
}

/** The readable form of one parsed record; a line with no event ID shows its tag (leak, action) in that column. */
export function formatRecord (r: LogRecord, colour = false): string {
  const time = typeof r.time === 'string' ? r.time.slice(11, 23) : ''
  const id = r.eventId === undefined ? typeof r.tag === 'string' ? r.tag : '-' : String(r.eventId)
  let text = r.msg ?? ''
  if (r.err?.message !== undefined) text += `: ${r.err.message}`
  const out = `${time}  ${(r.server ?? '?').padEnd(8)} ${id.padStart(5)}  ${(r.category ?? r.level ?? '').padEnd(18)} ${text}`
  if (!colour) return out
  if (r.tag === LOG_TAG.action) return `${COLOURS.bold}${out}${COLOURS.reset}`
  if (r.eventId === EVENT.noFreeControlBlocks) return `${COLOURS.bold}${COLOURS.red}${out}${COLOURS.reset}`
  if (r.level === 'error' || r.level === 'fatal') return `${COLOURS.red}${out}${COLOURS.reset}`
  if (r.level === 'warn') return `${COLOURS.yellow}${out}${COLOURS.reset}`
  if (r.eventId === EVENT.started || r.eventId === EVENT.stopped) return `${COLOURS.green}${out}${COLOURS.reset}`
  if (r.level === 'debug') return `${COLOURS.dim}${out}${COLOURS.reset}`
  return out
}
