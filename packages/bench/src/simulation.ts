import { resolve } from 'node:path'
import { runSimulation } from '@xcon/cli'

export interface SimulationFigures {
  scenario: string
  mtas: number
  simulatedSeconds: number
  wallSeconds: number
  /** Simulated seconds times MTAs, per wall second. */
  mtaSecondsPerSecond: number
  timers: number
  verdict: string
  messages: number
}

/**
 * Runs a scenario in simulation (no files written) and measures it: the 30-day, 20-MTA month at
 * timeScale 1 (scenarios/month.yaml) is #12's speed figure. The check at the end is counted in.
 */
export async function simulationSpeed (file = resolve(import.meta.dirname, '../../../scenarios/month.yaml')): Promise<SimulationFigures> {
  const r = await runSimulation({ file, noFiles: true })
  const mtas = Object.keys(r.scenario.topology.servers).length
  const wallSeconds = r.wallMs / 1000
  return {
    scenario: r.scenario.name,
    mtas,
    simulatedSeconds: r.simulatedMs / 1000,
    wallSeconds,
    mtaSecondsPerSecond: (r.simulatedMs / 1000) * mtas / wallSeconds,
    timers: r.events,
    verdict: r.result.verdict,
    messages: r.result.counts.submitted
  }
}
