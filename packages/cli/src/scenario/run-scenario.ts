import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import { allServers, expandSchedule, type CheckResult, type FaultStep, type HistoryRecord, type Scenario } from '@xcon/core'
import { ScenarioProgress } from './scenario-progress.js'
import { CliError } from '../cli-error.js'
import { sleep } from '../durations.js'
import { parseLogLine } from '../logs/pretty-log.js'
import { linkFaultRecord } from '../links/link-fault-record.js'
import { DockerScenarioSite, NO_LATENCY_ON_DOCKER } from './docker-scenario-site.js'
import { NO_LINK_FAULTS_ON_STACK, StackScenarioSite } from './stack-scenario-site.js'
import { LocalScenarioSite } from './local-scenario-site.js'
import { eventRecord, finishRun, loadScenario, nextArrival, prepareRunDir, sampleRecord, trafficRandom } from './scenario-history.js'
import type { ScenarioSite } from './scenario-site.js'

export interface RunOptions {
  file: string
  outDir?: string | undefined
  seed?: number | undefined
  backend?: 'local' | 'docker' | 'stack' | undefined
  /** The MTA image for the docker backend (default xcon:latest). */
  image?: string | undefined
  progress: boolean
  out: (line: string) => void
  /** A scenario made in memory (a game day's): `file` then only names it. */
  scenario?: Scenario | undefined
  /** Where the local site lives (default: under the output directory), so that every xcon command finds it there. */
  siteDir?: string | undefined
  /** Asked at each sample: true ends the faults and traffic early, and the run settles and is checked as at its end. */
  endEarly?: (() => boolean) | undefined
  /** Once every MTA is up and the run's clock has started. */
  onStarted?: ((t0: number, site: ScenarioSite) => Promise<void> | void) | undefined
  /** After the faults and traffic end and the final heal, before the settle: a game day's clean-up, recorded as faults. */
  afterEnd?: ((ctx: { site: ScenarioSite, fault: (step: FaultStep) => Promise<void> }) => Promise<void>) | undefined
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
  const scenario = opts.scenario ?? loadScenario(opts.file, opts.seed)
  const steps = expandSchedule(scenario)
  const outDir = prepareRunDir(scenario, steps, opts.outDir)
  opts.out(`scenario ${scenario.name}: seed ${scenario.seed}, ${steps.length} fault steps, ${scenario.durationMs / 1000} s; output in ${outDir}`)

  if (opts.backend === 'docker') {
    const slow = steps.find(s => s.action === 'latency')
    if (slow !== undefined) throw new CliError(`${opts.file}: ${slow.source}: ${NO_LATENCY_ON_DOCKER}`, 2)
  }
  if (opts.backend === 'stack') {
    const link = steps.find(s => s.action === 'partition' || s.action === 'latency' || s.action === 'join')
    if (link !== undefined) throw new CliError(`${opts.file}: ${link.source}: ${NO_LINK_FAULTS_ON_STACK}`, 2)
  }
  const site: ScenarioSite = opts.backend === 'docker'
    ? await DockerScenarioSite.create(outDir, scenario.name, scenario.topology, opts.image ?? 'xcon:latest')
    : opts.backend === 'stack'
      ? await StackScenarioSite.create(outDir, scenario.name, scenario.topology, opts.image ?? 'xcon:latest', scenario.nodes)
      : await LocalScenarioSite.create(outDir, join(outDir, 'topology.yaml'), opts.siteDir)
  const names = site.names
  opts.out(`backend ${site.backend}: ${names.length} MTAs, ${site.where}`)
  if (site.linkApiUrl !== undefined) opts.out(`links: a proxy on each of the ${names.length * (names.length - 1)} directed links, Toxiproxy API at ${site.linkApiUrl}`)

  const history: HistoryRecord[] = []
  const stream = createWriteStream(join(outDir, 'history.ndjson'))
  let t0 = Date.now()
  const record = (r: HistoryRecord): void => {
    history.push(r)
    stream.write(`${JSON.stringify(r)}\n`)
  }
  // Toxics applied through the link API while the run lasts are faults of the history, shaded in the report.
  site.onLinkChange?.(change => record(linkFaultRecord(Date.now() - t0, change, names)))
  site.onLogLine(line => {
    const r = parseLogLine(line)
    const e = r === undefined ? undefined : eventRecord(Date.parse(r.time ?? '') - t0, r as Record<string, unknown>)
    if (e !== undefined) record(e)
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
    await opts.onStarted?.(t0, site)

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
        const cb = s.controlBlocks
        const sampled = sampleRecord(now(), name, s)
        queued += sampled.depth
        live.server(now(), name, { state: 'running', exhaustedCount: cb.exhaustedCount, free: cb.free, capacity: cb.capacity })
        record(sampled.record)
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
    const random = trafficRandom(scenario)
    for (const stream of scenario.traffic) {
      const next = (): void => {
        const { gapMs: gap, from, to, alias } = nextArrival(random, scenario, stream)
        timers.push(setTimeout(() => {
          if (!trafficOn) return
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
    while (now() < scenario.durationMs && interrupted === undefined && opts.endEarly?.() !== true) {
      await sample()
      progress('running')
      await sleep(scenario.sampleMs)
    }
    trafficOn = false
    // Ended early: the schedule's last step (a heal of everything) has not run, so it runs now.
    const finalHeal = steps.at(-1)
    if (now() < scenario.durationMs && finalHeal?.action === 'heal') {
      for (const t of timers) clearTimeout(t)
      record({ t: now(), type: 'fault', action: finalHeal.action, targets: finalHeal.targets, source: finalHeal.source })
      await site.applyFault(finalHeal).catch((err: Error) => live.note(now(), `the final heal failed: ${err.message}`))
    }
    if (opts.afterEnd !== undefined) {
      await opts.afterEnd({
        site,
        fault: async step => {
          record({ t: now(), type: 'fault', action: step.action, targets: step.targets, source: step.source })
          await site.applyFault(step)
        }
      })
    }
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

  const { result } = finishRun(outDir, scenario, history)
  return { scenario, faultSteps: steps.length, result, outDir, wallMs: Date.now() - started }
}
