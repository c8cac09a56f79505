import { EVENT } from '../log-schema.js'
import { findingResult, type CheckResult } from './check-history.js'
import type { HistoryRecord } from './history.js'

/** One line of the comparison of a process run and a simulated run of the same file and seed. */
export interface ComparisonRow {
  what: string
  processes: string
  simulation: string
  agree: boolean
}

export interface RunComparison {
  rows: ComparisonRow[]
  agree: boolean
}

/** Each MTA's first 9156, in ms from the start of the run. */
export function firstExhaustion (history: readonly HistoryRecord[]): Map<string, number> {
  const first = new Map<string, number>()
  for (const r of history) {
    if (r.type === 'event' && r.eventId === EVENT.noFreeControlBlocks && !first.has(r.server)) first.set(r.server, r.t)
  }
  return first
}

/** A finding's key that both runtimes share: its check and the server (or "every …") it is about. */
const keyOf = (f: CheckResult['findings'][number]): string => `${f.check} ${f.subject.split(' after ')[0]!.split(' (')[0]}`

const seconds = (ms: number | null | undefined): string => ms === null || ms === undefined ? 'none' : `${(ms / 1000).toFixed(1)} s`

/**
 * Compares two runs of one scenario, on processes and in simulation: the same findings (who
 * stops and who does not, the drains after restarts, nothing lost, connectors flowing), and each
 * MTA's first 9156 within 20 % or two open intervals, whichever is larger (`openIntervalMs(server)`:
 * that MTA's open interval under its time scale). Findings that only inform (refused submissions)
 * are shown but not compared: they depend on wall-clock races that simulation does not have.
 */
export function compareRuns (
  processes: { result: CheckResult, history: readonly HistoryRecord[] },
  simulation: { result: CheckResult, history: readonly HistoryRecord[] },
  openIntervalMs: (server: string) => number
): RunComparison {
  const rows: ComparisonRow[] = []
  const simFindings = new Map(simulation.result.findings.map(f => [keyOf(f), f]))
  const seen = new Set<string>()
  for (const f of processes.result.findings) {
    const key = keyOf(f)
    seen.add(key)
    const g = simFindings.get(key)
    const informs = f.check === 'submissions'
    rows.push({
      what: key,
      processes: findingResult(f),
      simulation: g === undefined ? 'absent' : findingResult(g),
      agree: informs || (g !== undefined && findingResult(f) === findingResult(g))
    })
  }
  for (const [key, g] of simFindings) {
    if (!seen.has(key)) rows.push({ what: key, processes: 'absent', simulation: findingResult(g), agree: g.check === 'submissions' })
  }
  const pFirst = firstExhaustion(processes.history)
  const sFirst = firstExhaustion(simulation.history)
  for (const server of new Set([...pFirst.keys(), ...sFirst.keys()])) {
    const p = pFirst.get(server)
    const s = sFirst.get(server)
    const tolerance = p === undefined ? 0 : Math.max(0.2 * p, 2 * openIntervalMs(server))
    rows.push({
      what: `first 9156 ${server}`,
      processes: seconds(p),
      simulation: seconds(s),
      agree: p !== undefined && s !== undefined && Math.abs(p - s) <= tolerance
    })
  }
  return { rows, agree: rows.every(r => r.agree) }
}
