import { CliError } from './cli-error.js'

/** Reads `500ms`, `5s`, `2m`, `1h` or a bare number of seconds into milliseconds. */
export function parseDuration (text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim())
  if (m === null) throw new CliError(`${flag}: "${text}" is not a duration (try 5s, 500ms, 2m)`, 2)
  const n = Number(m[1])
  const unit = m[2] ?? 's'
  return n * ({ ms: 1, s: 1000, m: 60_000, h: 3_600_000 } as Record<string, number>)[unit]!
}

export const sleep = (ms: number): Promise<void> => new Promise(resolve => setTimeout(resolve, ms))
