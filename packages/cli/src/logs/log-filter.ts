import type { LogRecord } from './pretty-log.js'

/** Which lines `xcon logs` shows: `--server A,B` and `--event 9156,9318,leak` (event IDs, or the tags of lines that have none). */
export interface LogFilter {
  servers?: string[] | undefined
  events?: string[] | undefined
}

/** Whether one parsed line passes; a line that is not a log record passes only an empty filter. */
export function matchesFilter (filter: LogFilter, r: LogRecord | undefined): boolean {
  if (filter.servers === undefined && filter.events === undefined) return true
  if (r === undefined) return false
  if (filter.servers !== undefined && !filter.servers.some(s => s.toUpperCase() === String(r.server ?? '').toUpperCase())) return false
  if (filter.events !== undefined) {
    const id = r.eventId === undefined ? undefined : String(r.eventId)
    const tag = typeof r.tag === 'string' ? r.tag : undefined
    if (!filter.events.some(e => e === id || e === tag)) return false
  }
  return true
}
