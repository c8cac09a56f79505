import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  BUILDS, EVENT, XconError, forecastScenario, formatDuration, parseScenario, resolveMtaConfig, type HistoryRecord, type Build
} from '@xcon/core'
import { CliError } from '../cli-error.js'
import { lineChart, type Marker, type Series } from '../scenario/svg-chart.js'
import { runSimulation } from './run-simulation.js'
import { FORECAST_COLUMNS } from './forecast-columns.js'
import { XCON } from '../invocation.js'

export interface ForecastOptions {
  topology?: string | undefined
  server?: string | undefined
  build?: number | undefined
  controlBlocks?: number | undefined
  rates: number[]
  days: number
  seed: number
  chart?: string | undefined
  writeScenarios?: string | undefined
  out: (line: string) => void
}

/** One rate's answer: when the subject first logged 9156 (MTA time), and what it held then. */
export interface ForecastRow {
  rate: number
  /** Failed associations of the subject per hour, as the simulation made them (9318 and 2035 it logged). */
  measured: number
  firstExhaustionMs: number | null
  peer: string | null
  queued: number
  leaked: number
  capacity: number
  free: Array<[number, number]>
}

const COLOURS = ['#d62728', '#ff7f0e', '#1f77b4', '#2ca02c', '#9467bd', '#8c564b']

/**
 * `xcon forecast`: at this rate of failed connections, how long until a pre-SP4 MTA stops? One
 * simulation per rate at Exchange's real timings, each ending at the subject's first 9156.
 */
export async function forecast (o: ForecastOptions): Promise<ForecastRow[]> {
  let topologyText: string | undefined
  if (o.topology !== undefined) {
    try { topologyText = readFileSync(o.topology, 'utf8') } catch { throw new CliError(`topology file not found: ${o.topology}`, 2) }
  }
  const rows: ForecastRow[] = []
  let header = false
  for (const rate of o.rates) {
    let made
    let scenario
    try {
      made = forecastScenario({ topologyText, server: o.server, build: o.build, controlBlocks: o.controlBlocks, failuresPerHour: rate, days: o.days, seed: o.seed })
      scenario = parseScenario(made.yaml, `forecast at ${rate} failures an hour`, () => { throw new Error('inline topology') }, o.seed)
    } catch (err) {
      if (err instanceof XconError) throw new CliError(err.message, 2)
      throw err
    }
    if (o.writeScenarios !== undefined) {
      mkdirSync(o.writeScenarios, { recursive: true })
      writeFileSync(join(o.writeScenarios, `${scenario.name}.yaml`), `# xcon forecast's scenario at ${rate} failed connections an hour: ${XCON} simulate FILE (or scenario run, for ${o.days} days)\n${made.yaml}`)
    }
    const subject = made.subject
    const config = resolveMtaConfig(scenario.topology, subject, {})
    if (!header) {
      const p = config.leakPolicy
      const build = config.server.build
      o.out(`forecast for ${subject}: build ${build} (${BUILDS[build as Build]?.name ?? 'unknown build'}), ${config.server.controlBlocks} control blocks, ` +
        (p.leaks ? `a failed association keeps its block with probability ${p.probability} (kinds ${p.kinds.join(', ')})` : 'no leak (SP4 returns every block)') +
        `; ${o.days} days of MTA time at Exchange's timings (open interval 600 s)`)
      o.out(`${'FAILURES/H'.padEnd(12)}${'MADE/H'.padEnd(9)}${'FIRST 9156'.padEnd(20)}${'TOWARD'.padEnd(10)}${'QUEUED THEN'.padEnd(13)}${'LEAKED'.padEnd(9)}MODEL`)
      header = true
    }
    let at: { queued: number, leaked: number, capacity: number } | undefined
    const run = await runSimulation({
      file: scenario.file,
      scenario,
      noFiles: true,
      stopWhen: (r, site) => {
        if (r.type !== 'event' || r.eventId !== EVENT.noFreeControlBlocks || r.server !== subject) return false
        const f = site.sample(subject)
        at = { queued: f?.depth ?? 0, leaked: f?.leaked ?? 0, capacity: f?.capacity ?? 0 }
        return true
      }
    })
    const row = summarise(run.history, subject, rate, at)
    rows.push(row)
    // The leak model's expectation: every failure keeps its block with probability p, and the
    // pool has capacity minus the listener's block to lose (docs/leak-model.md).
    const expected = config.leakPolicy.leaks && config.leakPolicy.probability > 0 ? (config.server.controlBlocks - 1) / config.leakPolicy.probability / rate * 3_600_000 : undefined
    o.out(`${String(rate).padEnd(12)}${row.measured.toFixed(2).padEnd(9)}${(row.firstExhaustionMs === null ? `none in ${o.days} d` : formatDuration(row.firstExhaustionMs)).padEnd(20)}${(row.peer ?? '-').padEnd(10)}${(row.firstExhaustionMs === null ? '-' : String(row.queued)).padEnd(13)}${(row.firstExhaustionMs === null ? '-' : `${row.leaked}/${row.capacity}`).padEnd(9)}${expected === undefined ? 'never' : `~${formatDuration(expected)}`}`)
  }
  o.out('')
  for (const line of FORECAST_COLUMNS) o.out(line)
  if (o.chart !== undefined) writeChart(o.chart, rows, o.days)
  return rows
}

function summarise (history: readonly HistoryRecord[], subject: string, rate: number, at: { queued: number, leaked: number, capacity: number } | undefined): ForecastRow {
  let failures = 0
  let first: Extract<HistoryRecord, { type: 'event' }> | undefined
  let end = 0
  const free: Array<[number, number]> = []
  for (const r of history) {
    end = Math.max(end, r.t)
    if (r.type === 'sample' && r.server === subject && r.free !== undefined) free.push([r.t, r.free])
    if (r.type !== 'event' || r.server !== subject) continue
    if (r.eventId === EVENT.bindFailed || r.eventId === EVENT.lostConnection) failures++
    if (r.eventId === EVENT.noFreeControlBlocks && first === undefined) first = r
  }
  if (first !== undefined) free.push([first.t, 0])
  const hours = Math.max(1, (first?.t ?? end)) / 3_600_000
  return {
    rate,
    measured: failures / hours,
    firstExhaustionMs: first?.t ?? null,
    peer: typeof first?.peer === 'string' ? first.peer : null,
    queued: at?.queued ?? 0,
    leaked: at?.leaked ?? 0,
    capacity: at?.capacity ?? 0,
    free
  }
}

/** Free control blocks of the subject over MTA time, one line per rate, each first 9156 marked. */
function writeChart (file: string, rows: ForecastRow[], days: number): void {
  const xMax = rows.reduce((m, r) => Math.max(m, r.firstExhaustionMs ?? days * 86_400_000), 0)
  const series: Series[] = rows.map((r, i) => ({ name: `${r.rate} failures/h`, colour: COLOURS[i % COLOURS.length]!, points: r.free }))
  const markers: Marker[] = rows.filter(r => r.firstExhaustionMs !== null).map((r, i) => ({ t: r.firstExhaustionMs!, colour: COLOURS[i % COLOURS.length]!, tall: true, label: `${r.rate} failures/h: first 9156 after ${formatDuration(r.firstExhaustionMs!)}` }))
  const svg = lineChart({ title: 'Free control blocks until the first 9156 (MTA time, Exchange timings)', yLabel: 'free control blocks', xMaxMs: xMax, series, markers })
  writeFileSync(file, file.endsWith('.html') ? `<!doctype html><meta charset="utf-8"><title>xcon forecast</title>${svg}\n` : `${svg}\n`)
}
