import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import {
  HISTORY_EVENT_IDS, SeededRandom, allServers, checkHistory, expandSchedule, parseScenario, XconError,
  type CheckResult, type FaultStep, type HistoryRecord, type Scenario
} from '@xcon/core'
import { ScenarioProgress } from './scenario-progress.js'
import { CliError } from '../cli-error.js'
import { sleep } from '../durations.js'
import { parseLogLine } from '../pretty-log.js'
import { DockerScenarioSite, NO_LATENCY_ON_DOCKER } from './docker-scenario-site.js'
import { LocalScenarioSite } from './local-scenario-site.js'
import { writeReport } from './report.js'
import type { ScenarioSite } from './scenario-site.js'

/** Exchange events that go into the history (the rest of the log stays in the MTA's log file). */
const HISTORY_EVENTS = new Set(HISTORY_EVENT_IDS)

export interface RunOptions {
  file: string
  outDir?: string | undefined
  seed?: number | undefined
  backend?: 'local' | 'docker' | undefined
  /** The MTA image for the docker backend (default xcon:latest). */
  image?: string | undefined
  progress: boolean
  out: (line: string) => void
}

export interface RunResult {
  scenario: Scenario
  /** How many fault steps the schedule had (flaps and undos expanded). */
  faultSteps: number
  result: CheckResult
  outDir: string
  wallMs: number
}

/**
 * Runs a scenario on a site of its own (local processes, or a compose project made for it): starts
 * it with every directed link between MTAs open to faults, submits the traffic, plays the fault
 * schedule, records the history, waits for the queues to settle, closes the site down, checks the
 * history and writes the report. Ctrl-C closes the site down too, and keeps the partial history.
 */
export async function runScenario (opts: RunOptions): Promise<RunResult> {
  const started = Date.now()
  const file = resolve(opts.file)
  let scenario: Scenario
  try {
    scenario = parseScenario(readFileSync(file, 'utf8'), opts.file, p => readFileSync(resolve(dirname(file), p), 'utf8'), opts.seed)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw new CliError(`scenario file not found: ${opts.file}`, 2)
    if (err instanceof XconError) throw new CliError(err.message, 2)
    throw err
  }
  const steps = expandSchedule(scenario)
  const outDir = resolve(opts.outDir ?? join('.xcon', 'runs', `${scenario.name}-${new Date().toISOString().replace(/[:.]/g, '-')}`))
  mkdirSync(outDir, { recursive: true })
  writeFileSync(join(outDir, 'topology.yaml'), scenario.topologyText)
  writeFileSync(join(outDir, 'schedule.json'), JSON.stringify({ seed: scenario.seed, steps }, null, 2))
  opts.out(`scenario ${scenario.name}: seed ${scenario.seed}, ${steps.length} fault steps, ${scenario.durationMs / 1000} s; output in ${outDir}`)

  if (opts.backend === 'docker') {
    const slow = steps.find(s => s.action === 'latency')
    if (slow !== undefined) throw new CliError(`${opts.file}: ${slow.source}: ${NO_LATENCY_ON_DOCKER}`, 2)
  }
  const site: ScenarioSite = opts.backend === 'docker'
    ? await DockerScenarioSite.create(outDir, scenario.name, scenario.topology, opts.image ?? 'xcon:latest')
    : await LocalScenarioSite.create(outDir, join(outDir, 'topology.yaml'))
  const names = site.names
  opts.out(`backend ${site.backend}: ${names.length} MTAs, ${site.where}`)

  const history: HistoryRecord[] = []
  const stream = createWriteStream(join(outDir, 'history.ndjson'))
  let t0 = Date.now()
  const record = (r: HistoryRecord): void => {
    history.push(r)
    stream.write(`${JSON.stringify(r)}\n`)
  }
  site.onLogLine(line => {
    const r = parseLogLine(line)
    if (r?.eventId === undefined || !HISTORY_EVENTS.has(r.eventId) || typeof r.server !== 'string') return
    record({
      t: Date.parse(r.time ?? '') - t0, type: 'event', server: r.server, eventId: r.eventId, text: r.msg ?? '',
      ...(r.peer === undefined ? {} : { peer: r.peer as string | null }),
      ...(typeof r.direction === 'string' ? { direction: r.direction } : {}),
      ...(typeof r.outcome === 'string' ? { outcome: r.outcome } : {}),
      ...(typeof r.pool === 'string' ? { pool: r.pool } : {}),
      ...(typeof r.mtsId === 'string' ? { mtsId: r.mtsId } : {}),
      ...(Array.isArray(r.recipients) ? { recipients: r.recipients as string[] } : {})
    })
  })

  // Ctrl-C (or a TERM) ends the run early but still closes the site down: no MTA or container is left behind.
  let interrupted: NodeJS.Signals | undefined
  // Traffic and fault timers: cleared however the run ends, or a failed run would go on submitting.
  const timers: NodeJS.Timeout[] = []
  const live = new ScenarioProgress(opts.progress, scenario.durationMs + scenario.settleMs, opts.out)
  let trafficOn = true
  const onSignal = (sig: NodeJS.Signals): void => { interrupted = sig }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)
  try {
    await site.startAll()
    t0 = Date.now()
    record({
      t: 0, type: 'run', name: scenario.name, seed: scenario.seed, startedAt: new Date(t0).toISOString(), durationMs: scenario.durationMs,
      servers: allServers(scenario.topology).map(s => ({ name: s.name, site: s.site, build: s.build }))
    })

    const now = (): number => Date.now() - t0
    const lastSeq = new Map<string, number>()
    let submitted = 0
    let delivered = 0
    let pending = 0
    const sample = async (): Promise<void> => {
      let states: Map<string, string>
      try { states = await site.states() } catch (err) {
        // Skipped, not zero: a missed sample must not look like empty queues to the settle loop.
        live.note(now(), `sample skipped: ${(err as Error).message}`)
        return
      }
      let queued = 0
      await Promise.all(names.map(async name => {
        const state = states.get(name) ?? 'down'
        const s = state === 'running' ? await site.fetchStatus(name, 1000) : undefined
        if (s === undefined) { record({ t: now(), type: 'sample', server: name, state: state === 'running' ? 'unresponsive' : state }); return }
        const cb = s.controlBlocks as { free: number, leaked: number, capacity: number, exhaustedCount: number }
        const ccb = s.connectorControlBlocks as { leaked: number } | undefined
        const queues = s.queues as Array<{ depth: number }>
        const connectors = (s.connectors ?? []) as Array<{ depth: number }>
        const smtp = s.smtp as { queue: { depth: number } } | undefined
        const depth = queues.reduce((a, q) => a + q.depth, 0) + connectors.reduce((a, q) => a + q.depth, 0) + (smtp?.queue.depth ?? 0)
        queued += depth
        live.server(now(), name, { state: 'running', exhaustedCount: cb.exhaustedCount, free: cb.free, capacity: cb.capacity })
        record({ t: now(), type: 'sample', server: name, state: 'running', free: cb.free, leaked: cb.leaked, capacity: cb.capacity, depth, connectorLeaked: ccb?.leaked ?? 0, connectorDepth: connectors.reduce((a, q) => a + q.depth, 0) })
        try {
          for (const d of await site.deliveries(name, lastSeq.get(name) ?? 0, 2000)) {
            record({ t: now(), type: 'deliver', server: name, mailbox: d.mailbox, mtsId: d.mtsId, kind: d.kind })
            if (d.kind === 'message') delivered++
            lastSeq.set(name, Math.max(lastSeq.get(name) ?? 0, d.seq))
          }
        } catch { /* it went down between the two requests: next sample */ }
      }))
      pending = queued
    }

    // Traffic: Poisson arrivals per stream, seeded, bounded by the run's duration.
    const random = new SeededRandom(scenario.seed ^ 0x5bd1e995)
    for (const stream of scenario.traffic) {
      const next = (): void => {
        const gap = (-Math.log(1 - random.next()) / stream.rate) * 1000
        timers.push(setTimeout(() => {
          if (!trafficOn) return
          const from = random.pick(stream.from)
          const toServer = scenario.topology.servers[random.pick(stream.to)]!
          const to = [`${random.pick(toServer.mailboxes)}@${toServer.name}`]
          const alias = random.pick(scenario.topology.servers[from]!.mailboxes)
          site.submit(from, { from: alias, to, subject: `${scenario.name} ${from}`, body: 'x'.repeat(stream.size), priority: stream.priority }).then(
            ids => { for (const mtsId of ids) { submitted++; record({ t: now(), type: 'submit', mtsId, from, to }) } },
            (err: Error) => record({ t: now(), type: 'submit-failed', from, to, error: err.message })
          )
          next()
        }, gap))
      }
      next()
    }

    const executed: FaultStep[] = []
    for (const step of steps) {
      timers.push(setTimeout(() => {
        executed.push(step)
        live.faultApplied(now(), `${step.action} ${step.targets.join(', ')} (${step.source})`)
        record({ t: now(), type: 'fault', action: step.action, targets: step.targets, source: step.source, ...(step.groups === undefined ? {} : { groups: step.groups }), ...(step.oneWay === true ? { oneWay: true } : {}), ...(step.delayMs === undefined ? {} : { delayMs: step.delayMs }) })
        site.applyFault(step).catch((err: Error) => {
          // A start that the next kill of a flap overtakes (a container may take longer to start than the flap's up time) is the schedule, not a failure.
          const next = executed.slice(executed.indexOf(step) + 1).find(n => n.targets.some(x => step.targets.includes(x)))
          live.note(now(), `fault ${step.source} (${step.action} ${step.targets.join(',')}) ${next === undefined ? `failed: ${err.message}` : `cut short by ${next.source} (${next.action} at ${(next.at / 1000).toFixed(1)} s)`}`)
        })
      }, step.at))
    }

    const progress = (phase: 'running' | 'settling'): void => { live.sample(now(), phase, { submitted, delivered, queued: pending }) }
    while (now() < scenario.durationMs && interrupted === undefined) {
      await sample()
      progress('running')
      await sleep(scenario.sampleMs)
    }
    trafficOn = false
    await sleep(500) // the final heal (the last step) has run; give restarted MTAs a moment
    const settleEnd = Date.now() + scenario.settleMs
    do {
      await sample()
      progress('settling')
      if ((pending === 0 && delivered >= submitted) || interrupted !== undefined) break
      await sleep(scenario.sampleMs)
    } while (Date.now() < settleEnd)
    await sample()
    live.stop()
    // An interrupted run gets no end record: checked again later, it reads as unfinished (unknown).
    if (interrupted === undefined) record({ t: now(), type: 'end', pending })
  } finally {
    live.stop()
    trafficOn = false
    for (const t of timers) clearTimeout(t)
    await site.close()
    await new Promise(resolve => stream.end(resolve))
    process.off('SIGINT', onSignal)
    process.off('SIGTERM', onSignal)
  }
  if (interrupted !== undefined) throw new CliError(`interrupted (${interrupted}): the site is closed down; the partial history is in ${join(outDir, 'history.ndjson')}`, 130)

  const ordered = [...history].sort((a, b) => a.t - b.t)
  const result = checkHistory(ordered, scenario.expect)
  writeFileSync(join(outDir, 'results.json'), JSON.stringify({ scenario: scenario.name, seed: scenario.seed, ...result }, null, 2))
  writeReport(outDir, scenario, ordered, result)
  return { scenario, faultSteps: steps.length, result, outDir, wallMs: Date.now() - started }
}
