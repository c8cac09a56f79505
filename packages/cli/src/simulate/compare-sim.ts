import { join } from 'node:path'
import { compareRuns, retryPolicy, type RunComparison } from '@xcon/core'
import { renderColumns } from '../scenario/findings-table.js'
import { readHistory } from '../scenario/scenario-history.js'
import type { RunResult } from '../scenario/run-scenario.js'
import { runSimulation } from './run-simulation.js'

/**
 * Runs in simulation the scenario that `run` just ran on processes (same file, same seed) and
 * compares the two: the simulator checks itself against the runtime it models.
 */
export async function compareWithSimulation (run: RunResult, file: string): Promise<{ comparison: RunComparison, table: string, simDir: string }> {
  const sim = await runSimulation({ file, seed: run.scenario.seed, outDir: join(run.outDir, 'simulation') })
  const history = readHistory(join(run.outDir, 'history.ndjson'))
  const servers = run.scenario.topology.servers
  const comparison = compareRuns(
    { result: run.result, history },
    { result: sim.result, history: sim.history },
    server => retryPolicy(servers[server]?.timeScale ?? 1).openIntervalMs
  )
  const table = renderColumns([['COMPARED', 'PROCESSES', 'SIMULATION', ''], ...comparison.rows.map(r => [r.what, r.processes, r.simulation, r.agree ? 'agree' : 'DIFFER'])])
  return { comparison, table, simDir: sim.outDir ?? '' }
}
