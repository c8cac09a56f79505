import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import {
  HISTORY_EVENT_IDS, SeededRandom, checkHistory, parseScenario, XconError,
  type CheckResult, type FaultStep, type HistoryRecord, type MtaStatusDocument, type SampleFigures, type Scenario
} from '@xcon/core'
import { CliError } from '../cli-error.js'
import { writeReport } from './report.js'

/**
 * What both runtimes of a scenario share, so that the checker and the report cannot tell which
 * one made a history: loading the file, the records the history holds, the traffic's arrivals,
 * and the check and report at the end.
 */

/** Exchange events that go into the history (the rest of the log stays in the MTA's log). */
const HISTORY_EVENTS = new Set(HISTORY_EVENT_IDS)

/** Reads and checks a scenario file; a missing or broken one is a usage error (exit 2). */
export function loadScenario (fileArg: string, seed: number | undefined): Scenario {
  const file = resolve(fileArg)
  try {
    return parseScenario(readFileSync(file, 'utf8'), fileArg, p => readFileSync(resolve(dirname(file), p), 'utf8'), seed)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`scenario file not found: ${fileArg}`, 2)
    if (err instanceof XconError) throw new CliError(err.message, 2)
    throw err
  }
}

/** The run's directory, with the topology and the expanded schedule written into it. */
export function prepareRunDir (scenario: Scenario, steps: FaultStep[], outDir: string | undefined, suffix = ''): string {
  const dir = resolve(outDir ?? join('.xcon', 'runs', `${scenario.name}${suffix}-${new Date().toISOString().replace(/[:.]/g, '-')}`))
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'topology.yaml'), scenario.topologyText)
  writeFileSync(join(dir, 'schedule.json'), JSON.stringify({ seed: scenario.seed, steps }, null, 2))
  return dir
}

/** The history record of one MTA log line, or undefined for a line the history does not keep. */
export function eventRecord (t: number, r: Record<string, unknown>): HistoryRecord | undefined {
  if (typeof r.eventId !== 'number' || !HISTORY_EVENTS.has(r.eventId) || typeof r.server !== 'string') return undefined
  return {
    t, type: 'event', server: r.server, eventId: r.eventId, text: typeof r.msg === 'string' ? r.msg : '',
    ...(r.peer === undefined ? {} : { peer: r.peer as string | null }),
    ...(typeof r.direction === 'string' ? { direction: r.direction } : {}),
    ...(typeof r.outcome === 'string' ? { outcome: r.outcome } : {}),
    ...(typeof r.pool === 'string' ? { pool: r.pool } : {}),
    ...(typeof r.mtsId === 'string' ? { mtsId: r.mtsId } : {}),
    ...(Array.isArray(r.recipients) ? { recipients: r.recipients as string[] } : {})
  }
}

/** The sample record of a running MTA's status document, and the mail it holds (queues, connectors, SMTP). */
export function sampleRecord (t: number, name: string, s: MtaStatusDocument): { record: HistoryRecord, depth: number } {
  const connectorDepth = s.connectors.reduce((a, q) => a + q.depth, 0)
  const depth = s.queues.reduce((a, q) => a + q.depth, 0) + connectorDepth + (s.smtp?.queue.depth ?? 0)
  const cb = s.controlBlocks
  return figuresRecord(t, name, { free: cb.free, leaked: cb.leaked, capacity: cb.capacity, depth, connectorLeaked: s.connectorControlBlocks.leaked, connectorDepth })
}

/** The sample record of an MTA's figures (core's sampleFigures, or read off its status document). */
export function figuresRecord (t: number, name: string, f: SampleFigures): { record: HistoryRecord, depth: number } {
  return { record: { t, type: 'sample', server: name, state: 'running', ...f }, depth: f.depth }
}

/** One message of a traffic stream: when it comes (after the last), from which MTA, to whom. */
export interface Arrival {
  gapMs: number
  from: string
  to: string[]
  alias: string
}

/** The traffic's random source: seeded from the scenario's seed, the same on both runtimes. */
export function trafficRandom (scenario: Scenario): SeededRandom {
  return new SeededRandom(scenario.seed ^ 0x5bd1e995)
}

/** The next Poisson arrival of a stream, drawn in the same order on both runtimes. */
export function nextArrival (random: SeededRandom, scenario: Scenario, stream: Scenario['traffic'][number]): Arrival {
  const gapMs = (-Math.log(1 - random.next()) / stream.rate) * 1000
  const from = random.pick(stream.from)
  const toServer = scenario.topology.servers[random.pick(stream.to)]!
  const to = [`${random.pick(toServer.mailboxes)}@${toServer.name}`]
  const alias = random.pick(scenario.topology.servers[from]!.mailboxes)
  return { gapMs, from, to, alias }
}

/** A history.ndjson in time order; a line that is not a record is a usage error naming it. */
export function readHistory (file: string): HistoryRecord[] {
  return readFileSync(file, 'utf8').split('\n').filter(l => l.trim() !== '').map((l, i) => {
    try { return JSON.parse(l) as HistoryRecord } catch { throw new CliError(`${file}:${i + 1}: not a JSON history record`, 2) }
  }).sort((a, b) => a.t - b.t)
}

/** The history in time order, checked against the scenario's expectations. */
export function checkRun (scenario: Scenario, history: readonly HistoryRecord[]): { result: CheckResult, ordered: HistoryRecord[] } {
  const ordered = [...history].sort((a, b) => a.t - b.t)
  return { result: checkHistory(ordered, scenario.expect), ordered }
}

/** Sorts the history by time, checks it against the scenario's expectations, writes results.json and the report. */
export function finishRun (outDir: string, scenario: Scenario, history: HistoryRecord[], extra: Record<string, unknown> = {}): { result: CheckResult, ordered: HistoryRecord[] } {
  const { result, ordered } = checkRun(scenario, history)
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ scenario: scenario.name, seed: scenario.seed, ...extra, ...result }, null, 2))
  writeReport(outDir, scenario, ordered, result)
  return { result, ordered }
}
