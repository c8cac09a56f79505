import { readFileSync } from 'node:fs'
import { dirname, resolve } from 'node:path'
import { checkHistory, parseScenario, XconError, type CheckResult } from '@xcon/core'
import { CliError } from '../cli-error.js'
import { readHistory } from './scenario-history.js'

/** Checks a recorded history.ndjson against the expectations of its scenario file. */
export function checkRecorded (historyFile: string, scenarioFile: string): CheckResult {
  try {
    const scenario = parseScenario(readFileSync(scenarioFile, 'utf8'), scenarioFile, p => readFileSync(resolve(dirname(scenarioFile), p), 'utf8'), 0)
    return checkHistory(readHistory(historyFile), scenario.expect)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`file not found: ${(err as NodeJS.ErrnoException).path ?? ''}`, 2)
    if (err instanceof XconError) throw new CliError(err.message, 2)
    throw err
  }
}
