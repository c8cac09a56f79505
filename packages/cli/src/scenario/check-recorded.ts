import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { checkHistory, parseScenario, XconError, type CheckResult, type HistoryRecord } from '@xcon/core'
import { CliError } from '../cli-error.js'

/** Checks a recorded history.ndjson against the expectations of its scenario file. */
export function checkRecorded (historyFile: string, scenarioFile: string): CheckResult {
  try {
    const scenario = parseScenario(readFileSync(scenarioFile, 'utf8'), scenarioFile, p => readFileSync(resolve(dirname(scenarioFile), p), 'utf8'), 0)
    const history = readFileSync(historyFile, 'utf8').split('\n').filter(l => l.trim() !== '').map((l, i) => {
      try { return JSON.parse(l) as HistoryRecord } catch { throw new CliError(`${historyFile}:${i + 1}: not a JSON history record`, 2) }
    })
    return checkHistory(history.sort((a, b) => a.t - b.t), scenario.expect)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`file not found: ${(err as NodeJS.ErrnoException).path ?? ''}`, 2)
    if (err instanceof XconError) throw new CliError(err.message, 2)
    throw err
  }
}
