import { DURATION_EXAMPLES, durationMs } from '@xcon/core'
import { CliError } from './cli-error.js'

/** A flag's duration in milliseconds, read with the project's one grammar (core's durationMs). */
export function parseDuration (text: string, flag: string): number {
  const ms = durationMs(text)
  if (ms === undefined) throw new CliError(`${flag}: "${text}" is not a duration (try ${DURATION_EXAMPLES})`, 2)
  return ms
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
