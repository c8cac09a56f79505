import { createHash } from 'node:crypto'
import { setFlagsFromString } from 'node:v8'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import {
  SimSite, allServers, expandSchedule, type CheckResult, type HistoryRecord, type Priority, type Scenario
} from '@xcon/core'
import { checkRun, eventRecord, figuresRecord, finishRun, loadScenario, nextArrival, prepareRunDir, trafficRandom } from '../scenario/scenario-history.js'

// A simulation allocates many short-lived objects (machine snapshots, events): a larger young
// generation makes its collections rarer; measured about 15 % off the 30-day run (docs/simulate.md).
setFlagsFromString('--max-semi-space-size=64')

/**
 * Where simulated time starts: June 2000, when Q260167 was current. Fixed, so that MTS-IDs and
 * the history's `startedAt` are the same on every run of a file and seed.
 */
export const SIM_EPOCH = Date.parse('2000-06-01T00:00:00.000Z')

/** Longest a simulated closedown may take, in simulated time, before the run gives up on it. */
const CLOSE_LIMIT_MS = 60_000

export interface SimulateOptions {
  file: string
  outDir?: string | undefined
  seed?: number | undefined
  /** Writes no files: for the forecast and the benchmark, which only want the result. */
  noFiles?: boolean
  /** Scenario already loaded (the forecast makes its own). */
  scenario?: Scenario
  /** Ends the run at the first history record this is true of (the forecast stops at the first 9156). */
  stopWhen?: (record: HistoryRecord, site: SimSite) => boolean
}

export interface SimulateResult {
  scenario: Scenario
  faultSteps: number
  result: CheckResult
  history: HistoryRecord[]
  outDir: string | undefined
  /** sha256 of history.ndjson: the same file and seed give the same digest. */
  sha256: string
  wallMs: number
  /** Simulated milliseconds the run covered, settling included. */
  simulatedMs: number
  /** Timers fired: the simulator's unit of work. */
  events: number
}

/**
 * Promise turns given to the work of one instant: a store write and what awaits it take a few.
 * Counted turns rather than a setImmediate per instant, which costs a third of a run; a chain
 * longer than this goes on at the next instant, the same way on every run.
 */
const SETTLE_TURNS = 32

/** Lets every promise job that the timers of one instant started run to its end. */
const settle = async (): Promise<void> => { for (let i = 0; i < SETTLE_TURNS; i++) await null }

/**
 * Runs a scenario in simulated time: every MTA of its topology in this process (core's MtaNode on
 * a virtual clock, an in-memory network and in-memory stores), the same traffic and fault
 * schedule as `scenario run`, the same history records, the same checker and report. Nothing
 * waits for the wall clock, so 30 days of Exchange's real timings (timeScale 1) take seconds.
 */
export async function runSimulation (opts: SimulateOptions): Promise<SimulateResult> {
  const started = Date.now()
  const scenario = opts.scenario ?? loadScenario(opts.file, opts.seed)
  const steps = expandSchedule(scenario)
  const outDir = opts.noFiles === true ? undefined : prepareRunDir(scenario, steps, opts.outDir, '-sim')
  const history: HistoryRecord[] = []
  const t0 = SIM_EPOCH
  let stopped = false
  const site = new SimSite(scenario.topology, t0, (server, _level, fields, msg) => {
    const e = eventRecord(site.clock.now() - t0, { ...fields, server, msg })
    if (e === undefined) return
    history.push(e)
    if (opts.stopWhen?.(e, site) === true) stopped = true
  })
  const done = (): boolean => stopped
  const { clock } = site
  const now = (): number => clock.now() - t0
  const names = site.names

  // The run's clock starts once every MTA is up, as on processes: no boot time for the first start.
  await Promise.all(names.map(async n => { await site.start(n, 0) }))
  history.push({
    t: 0, type: 'run', name: scenario.name, seed: scenario.seed, startedAt: new Date(t0).toISOString(), durationMs: scenario.durationMs,
    servers: allServers(scenario.topology).map(s => ({ name: s.name, site: s.site, build: s.build }))
  })

  let submitted = 0
  let delivered = 0
  let pending = 0
  const lastSeq = new Map<string, number>()
  /** What a sample of the process runner records, read from the nodes directly. */
  const sample = (): void => {
    let queued = 0
    for (const name of names) {
      const state = site.state(name)
      const f = site.sample(name)
      if (f === undefined) { history.push({ t: now(), type: 'sample', server: name, state }); continue }
      const sampled = figuresRecord(now(), name, f)
      queued += sampled.depth
      history.push(sampled.record)
      for (const d of site.deliveries(name, lastSeq.get(name) ?? 0)) {
        // Deliveries carry the instant they were stored: exact, where the process runner sees them at its next sample.
        history.push({ t: d.at - t0, type: 'deliver', server: name, mailbox: d.mailbox, mtsId: d.mtsId, kind: d.kind })
        if (d.kind === 'message') delivered++
        lastSeq.set(name, d.seq)
      }
    }
    pending = queued
  }

  // Traffic: the same seeded Poisson arrivals as on processes, on the virtual clock.
  let trafficOn = true
  const random = trafficRandom(scenario)
  for (const stream of scenario.traffic) {
    const content = new TextEncoder().encode('x'.repeat(stream.size))
    const next = (): void => {
      const a = nextArrival(random, scenario, stream)
      clock.setTimeout(() => {
        if (!trafficOn) return
        site.submit(a.from, { from: a.alias, to: a.to, subject: `${scenario.name} ${a.from}`, content, priority: stream.priority as Priority }).then(
          ids => { for (const mtsId of ids) { submitted++; history.push({ t: now(), type: 'submit', mtsId, from: a.from, to: a.to }) } },
          (err: Error) => history.push({ t: now(), type: 'submit-failed', from: a.from, to: a.to, error: err.message })
        )
        next()
      }, a.gapMs)
    }
    next()
  }

  for (const step of steps) {
    clock.setTimeout(() => {
      history.push({ t: now(), type: 'fault', action: step.action, targets: step.targets, source: step.source, ...(step.groups === undefined ? {} : { groups: step.groups }), ...(step.oneWay === true ? { oneWay: true } : {}), ...(step.delayMs === undefined ? {} : { delayMs: step.delayMs }) })
      site.applyFault(step).catch(() => undefined)
    }, step.at)
  }

  // Samples at the scenario's interval while it runs, then while it settles (as the process runner's loop).
  const sampleMs = scenario.sampleMs
  for (let t = 0; t < scenario.durationMs && !stopped; t += sampleMs) {
    await clock.run(t0 + t, settle, done)
    sample()
  }
  await clock.run(t0 + scenario.durationMs, settle, done)
  trafficOn = false
  if (!stopped) {
    await clock.run(clock.now() + 500, settle)
    const settleEnd = clock.now() + scenario.settleMs
    do {
      sample()
      if (pending === 0 && delivered >= submitted) break
      await clock.run(Math.min(settleEnd, clock.now() + sampleMs), settle)
    } while (clock.now() < settleEnd)
  }
  sample()
  history.push({ t: now(), type: 'end', pending })
  const simulatedMs = now()

  // Closing down takes simulated time too (transfers finish, associations are released).
  let closed = false
  const closing = site.close().then(() => { closed = true })
  await clock.run(clock.now() + CLOSE_LIMIT_MS, settle, () => closed)
  if (closed) await closing

  const ndjson = history.map(r => `${JSON.stringify(r)}\n`).join('')
  const sha256 = createHash('sha256').update(ndjson).digest('hex')
  let result: CheckResult
  if (outDir !== undefined) {
    writeFileSync(join(outDir, 'history.ndjson'), ndjson)
    result = finishRun(outDir, scenario, history, { runtime: 'simulation', historySha256: sha256 }).result
  } else {
    result = checkRun(scenario, history).result
  }
  return { scenario, faultSteps: steps.length, result, history, outDir, sha256, wallMs: Date.now() - started, simulatedMs, events: clock.fired }
}
