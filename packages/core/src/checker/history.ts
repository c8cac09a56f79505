/**
 * One line of a scenario's history (NDJSON). `t` is milliseconds from the start of the run.
 * The runner writes them; the checker and the report read them.
 */
export type HistoryRecord =
  | { t: number, type: 'run', name: string, seed: number, servers: Array<{ name: string, site: string, build: number }>, startedAt: string, durationMs: number }
  | { t: number, type: 'submit', mtsId: string, from: string, to: string[] }
  | { t: number, type: 'submit-failed', from: string, to: string[], error: string }
  | { t: number, type: 'deliver', server: string, mailbox: string, mtsId: string, kind: string }
  | { t: number, type: 'fault', action: string, targets: string[], groups?: string[][], oneWay?: boolean, delayMs?: number, source: string, links?: string[], toxic?: string }
  | { t: number, type: 'event', server: string, eventId: number, peer?: string | null, direction?: string, outcome?: string, pool?: string, mtsId?: string, recipients?: string[], text: string }
  | { t: number, type: 'sample', server: string, state: string, free?: number, leaked?: number, capacity?: number, depth?: number, connectorLeaked?: number, connectorDepth?: number }
  | { t: number, type: 'end', pending: number }

export type HistoryType = HistoryRecord['type']
