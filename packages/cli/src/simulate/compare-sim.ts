import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { compareRuns, retryPolicy, type HistoryRecord, type RunComparison } from '@xcon/core'
import type { RunResult } from '../scenario/run-scenario.js'
import { runSimulation } from './run-simulation.js'

/**
 * Runs in simulation the scenario that `run` just ran on processes (same file, same seed) and
 * compares the two: the simulator checks itself against the runtime it models.
 */
export async function compareWithSimulation (run: RunResult, file: string): Promise<{ comparison: RunComparison, table: string, simDir: string }> {
  const sim = await runSimulation({ file, seed: run.scenario.seed, outDir: join(run.outDir, 'simulation') })
  const history = readFileSync(join(run.outDir, 'history.ndjson'), 'utf8').split('\n').filter(l => l !== '').map(l => JSON.parse(l) as HistoryRecord).sort((a, b) => a.t - b.t)
  const servers = run.scenario.topology.servers
  const comparison = compareRuns(
    { result: run.result, history },
    { result: sim.result, history: sim.history },
    server => retryPolicy(servers[server]?.timeScale ?? 1).openIntervalMs
  )
  const rows = [['COMPARED', 'PROCESSES', 'SIMULATION', ''], ...comparison.rows.map(r => [r.what, r.processes, r.simulation, r.agree ? 'agree' : 'DIFFER'])]
  const widths = [0, 1, 2].map(i => rows.reduce((w, r) => Math.max(w, r[i]!.length), 0))
  const table = rows.map(r => r.map((c, i) => i < 3 ? c.padEnd(widths[i]! + 2) : c).join('').trimEnd()).join('\n')
  return { comparison, table, simDir: sim.outDir ?? '' }
}
