import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Cause, Level } from '@xcon/core'
import { CliError } from '../cli-error.js'
import { XCON } from '../invocation.js'

/** Where a game day keeps its files: beside the site it runs, under the data directory. */
export function gamedayPaths (dataDir: string): { root: string, state: string, ready: string, end: string, run: string, log: string, debrief: string } {
  const root = join(dataDir, 'gameday')
  return { root, state: join(root, 'state.json'), ready: join(root, 'ready.json'), end: join(root, 'end'), run: join(root, 'run'), log: join(root, 'runner.log'), debrief: join(root, 'run', 'debrief.json') }
}

/**
 * What a game day remembers between commands. The incident itself is not written down: it is
 * drawn again from the seed (and --incident or --level) whenever it is needed, so that nothing
 * a trainee reads in the data directory names the cause.
 */
export interface GamedayState {
  /** Local processes under the data directory, or a compose project the runner made (its file and name in ready.json). */
  backend: 'local' | 'docker'
  seed: number
  incident: string | undefined
  level: Level | undefined
  topologyFile: string | undefined
  limitMs: number
  createdAt: string
  runnerPid: number | null
  /** When `gameday start` told the trainee the symptom: their times count from here. */
  briefedAt: string | null
  diagnoses: Array<{ time: string, server: string, cause: Cause }>
  asks: Array<{ time: string, team: 'network' | 'storage', text: string, answer: string }>
}

/** What the runner writes once every MTA is up: the run's clock (t0) and the MTAs' time scale. */
export interface GamedayReady {
  t0: number
  timeScale: number
  /** The compose project of a game day on containers: every xcon command drives it with --docker --file F --project P. */
  compose?: { file: string, project: string } | undefined
}

export function readGameday (dataDir: string): GamedayState {
  const p = gamedayPaths(dataDir)
  if (!existsSync(p.state)) throw new CliError(`no game day under ${dataDir}: start one with "${XCON} gameday start"`)
  return JSON.parse(readFileSync(p.state, 'utf8')) as GamedayState
}

export function writeGameday (dataDir: string, state: GamedayState): void {
  const p = gamedayPaths(dataDir)
  mkdirSync(p.root, { recursive: true })
  writeFileSync(`${p.state}.tmp`, JSON.stringify(state, null, 2))
  renameSync(`${p.state}.tmp`, p.state)
}

export function readReady (dataDir: string): GamedayReady | undefined {
  try { return JSON.parse(readFileSync(gamedayPaths(dataDir).ready, 'utf8')) as GamedayReady } catch { return undefined }
}

/** The MTA clock of a game day: it reads 08:00 on day 1 when the site starts, and runs `timeScale` times faster than real time. */
export function mtaClock (ready: GamedayReady, atMs: number): string {
  const mtaMs = 8 * 3_600_000 + Math.max(0, atMs - ready.t0) * ready.timeScale
  const day = Math.floor(mtaMs / 86_400_000) + 1
  const hh = Math.floor((mtaMs % 86_400_000) / 3_600_000)
  const mm = Math.floor((mtaMs % 3_600_000) / 60_000)
  return `day ${day} ${String(hh).padStart(2, '0')}:${String(mm).padStart(2, '0')}`
}

/** A moment as the game day prints it: the MTA clock, with real time beside it. */
export function when (ready: GamedayReady, atMs: number): string {
  return `${mtaClock(ready, atMs)} MTA time (real ${new Date(atMs).toISOString().slice(11, 19)})`
}
