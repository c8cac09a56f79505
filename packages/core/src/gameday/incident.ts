/** What a trainee may name as the cause of what a server shows (`xcon gameday diagnose --cause`). */
export const CAUSES = ['leak', 'peer-down', 'paused', 'partition', 'disk-full', 'slow-link', 'none'] as const
export type Cause = typeof CAUSES[number]

export const LEVELS = ['easy', 'normal', 'hard'] as const
export type Level = typeof LEVELS[number]

/** One fault of an incident, as the scenario engine's faults name them. */
export type IncidentFault =
  | { kind: 'kill' | 'pause' | 'disk-full', server: string }
  | { kind: 'partition' | 'latency', from: string, to: string, delayMs?: number }

/** One step of the expert response: an xcon command, or a request to the team that owns the fix. */
export type ExpertStep =
  | { do: 'start' | 'resume' | 'restart', servers: string[], why: string }
  | { do: 'ask', team: 'network' | 'storage', why: string }

/** An incident drawn for one site: its faults, the truth behind them, and the response that mends it. */
export interface Incident {
  /** Its name in the catalogue (`xcon gameday list`). */
  name: string
  level: Level
  faults: IncidentFault[]
  /** The causes each involved server shows (a server may show two); a server not named here is healthy (`none`). */
  causes: Array<{ server: string, cause: Cause }>
  /** In users' words, without the cause: what the on-call person is told. */
  symptom: string
  /** The response that mends it, step by step, each with its reason. */
  expert: ExpertStep[]
  /** How the incident ends: every queue drained and every MTA healthy, after the expert steps. */
  explanation: string
}

/** The causes a server truly shows in an incident: ['none'] for a healthy one. */
export function causesOf (incident: Incident, server: string): Cause[] {
  const found = incident.causes.filter(c => c.server === server).map(c => c.cause)
  return found.length === 0 ? ['none'] : found
}
