import { mkdirSync, writeFileSync } from 'node:fs'
import { availableParallelism } from 'node:os'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { associationCost } from './association-cost.js'
import { backlogMemory, QUEUED_SECONDS, SETTLE_SECONDS } from './backlog-memory.js'
import { errorText } from './bench-site.js'
import { failureDetection } from './failure-detection.js'
import { poolChurn } from './pool-churn.js'
import { postfixRelay } from './postfix.js'
import { rawThroughput } from './raw-ws.js'
import { recovery } from './recovery.js'
import { scale, type ScaleResult } from './scale.js'
import { simulationSpeed } from './simulation.js'
import { slowCallers } from './slow-callers.js'
import { storeCeiling } from './store-ceiling.js'
import { dockerStatusLatency, localStatusLatency } from './status-latency.js'
import { latency, xconThroughput } from './throughput.js'
import { TRANSFER_BATCH, TRANSFER_WINDOW } from '@xcon/core'

/**
 * `npm run bench`: every figure of issue #6 measured in one run, each ratio side by side in the
 * same run (these machines are shared and noisy), printed as a table with its goal and written
 * to bench/results/<date>.json. Flags: --only throughput,latency,postfix,recovery,failure,memory,strangers,status,pool,scale,simulate
 * --messages N (default 100000) --scale 10,25,50,100 --backlog N (default 10000) --queued N (default 200000)
 * --postfix-seconds S (default 60: the Postfix relay stops there and reports the rate so far).
 */
const { values } = parseArgs({
  options: {
    only: { type: 'string' }, queued: { type: 'string' }, messages: { type: 'string' }, scale: { type: 'string' }, backlog: { type: 'string' }, out: { type: 'string' }, 'postfix-seconds': { type: 'string' }
  }
})
const parts = new Set((values.only ?? 'throughput,latency,postfix,recovery,failure,memory,strangers,status,pool,scale,simulate').split(','))
const queuedMessages = Number(values.queued ?? 200_000)
const messages = Number(values.messages ?? 100_000)
const sizes = (values.scale ?? '10,25,50,100').split(',').map(Number)
const backlog = Number(values.backlog ?? 10_000)
const postfixSeconds = Number(values['postfix-seconds'] ?? 60)

interface Row { figure: string, value: string, goal: string, met: boolean | null }
const rows: Row[] = []
const results: Record<string, unknown> = { date: new Date().toISOString(), node: process.version, cpus: (await import('node:os')).cpus().length }
const log = (line: string): void => { process.stderr.write(`${line}\n`) }

if (parts.has('throughput')) {
  log(`throughput: ${messages} messages of 1 KiB through xcon, then the raw ws limits (per message, then batched)...`)
  const x = await xconThroughput(messages)
  const raw = await rawThroughput(messages, { window: 64, batch: 1 })
  const rawBatched = await rawThroughput(messages, { window: TRANSFER_WINDOW, batch: TRANSFER_BATCH })
  log(`throughput: the durable writes alone of ${messages} messages, sender's store then receiver's...`)
  const store = await storeCeiling(messages)
  const ratio = x.rate / raw.rate
  const ratioBatched = x.rate / rawBatched.rate
  // On a saturated machine a rate is cores / CPU per message. xcon cannot do less per message than
  // both stores' writes plus the batched wire, so this is its ceiling here, whatever else is cut.
  const cores = availableParallelism()
  const floorMicros = rawBatched.cpuMicrosPerMessage === null ? null : store.senderMicros + store.receiverMicros + rawBatched.cpuMicrosPerMessage
  const ceiling = floorMicros === null ? null : cores / floorMicros * 1e6
  results.throughput = {
    messages, xconPerSecond: x.rate, xconSeconds: x.seconds, rawPerSecond: raw.rate, rawBatchedPerSecond: rawBatched.rate, ratio, ratioBatched, window: TRANSFER_WINDOW, batch: TRANSFER_BATCH,
    cpuMicrosPerMessage: { xcon: x.cpuMicrosPerMessage, raw: raw.cpuMicrosPerMessage, rawBatched: rawBatched.cpuMicrosPerMessage, senderStore: store.senderMicros, receiverStore: store.receiverMicros },
    storeAlonePerSecond: { sender: store.senderRate, receiver: store.receiverRate }, storeOneAtATimeCpuMs: { sender: store.aloneSenderMs, receiver: store.aloneReceiverMs }, cores, ceilingPerSecond: ceiling
  }
  const micros = (v: number | null): string => v === null ? 'n/a' : `${v.toFixed(1)} µs`
  rows.push({ figure: `xcon transfer, ${messages} x 1 KiB, durable, transfers of up to ${TRANSFER_BATCH}`, value: `${x.rate.toFixed(0)} msg/s`, goal: '', met: null })
  rows.push({ figure: 'raw ws + msgpackr, one frame per message, 64 outstanding', value: `${raw.rate.toFixed(0)} msg/s`, goal: '', met: null })
  rows.push({ figure: `raw ws + msgpackr, ${TRANSFER_BATCH} per frame, ${TRANSFER_WINDOW} outstanding, no store`, value: `${rawBatched.rate.toFixed(0)} msg/s`, goal: '', met: null })
  rows.push({ figure: 'ratio xcon / raw per message', value: ratio.toFixed(3), goal: '>= 1.0', met: ratio >= 1 })
  rows.push({ figure: 'ratio xcon / raw batched', value: ratioBatched.toFixed(3), goal: '>= 0.5', met: ratioBatched >= 0.5 })
  rows.push({ figure: 'machine CPU per message: xcon / raw per message / raw batched', value: `${micros(x.cpuMicrosPerMessage)} / ${micros(raw.cpuMicrosPerMessage)} / ${micros(rawBatched.cpuMicrosPerMessage)}`, goal: '', met: null })
  rows.push({ figure: 'durable writes alone, no network: sender\'s store / receiver\'s store', value: `${micros(store.senderMicros)} (${store.senderRate.toFixed(0)} msg/s) / ${micros(store.receiverMicros)} (${store.receiverRate.toFixed(0)} msg/s)`, goal: '', met: null })
  rows.push({ figure: 'durable writes of a message sent alone (a mesh probe), CPU: sender\'s two commits / receiver\'s one', value: `${store.aloneSenderMs.toFixed(2)} ms / ${store.aloneReceiverMs.toFixed(2)} ms`, goal: '', met: null })
  if (ceiling !== null) {
    rows.push({ figure: `ceiling for xcon here: ${cores} cores / (both stores + batched wire)`, value: `${ceiling.toFixed(0)} msg/s (${(ceiling / raw.rate).toFixed(2)} x raw per message, ${(ceiling / rawBatched.rate).toFixed(2)} x raw batched)`, goal: '', met: null })
  }
  if (parts.has('latency')) {
    const half = Math.max(1, Math.round(x.rate / 2))
    log(`latency at ${half} msg/s (half the measured peak): 1 s of warm-up, then 10 s...`)
    const l = await latency(half, 10)
    results.latency = { rate: half, ...l }
    rows.push({ figure: `latency at ${half} msg/s (half the peak), after 1 s of warm-up: median`, value: `${l.p50} ms`, goal: '< 10 ms', met: l.p50 < 10 })
    rows.push({ figure: `latency at ${half} msg/s (half the peak), after 1 s of warm-up: p99 of ${l.samples}`, value: `${l.p99} ms`, goal: '', met: null })
    rows.push({ figure: `latency in the warm-up second (first association, cold JIT): median / p99 of ${l.warmup.samples}`, value: `${l.warmup.p50} / ${l.warmup.p99} ms`, goal: '', met: null })
  }
}
if (parts.has('postfix')) {
  log(`postfix: ${messages} messages of 1 KiB from smtp-source through a loopback Postfix relay to smtp-sink (at most ${postfixSeconds} s)...`)
  const p = await postfixRelay(messages, postfixSeconds)
  results.postfix = p
  const xcon = (results.throughput as { xconPerSecond: number } | undefined)?.xconPerSecond
  if (!p.ran) {
    rows.push({ figure: 'Postfix relay, disk queue', value: `not run: ${p.why}`, goal: '', met: null })
  } else {
    rows.push({ figure: `Postfix relay, disk queue, 1 KiB: ${p.complete ? `${p.messages}` : `${p.delivered} of ${p.messages} in ${postfixSeconds} s`}`, value: `${p.rate.toFixed(0)} msg/s`, goal: '', met: null })
    if (xcon !== undefined) rows.push({ figure: 'ratio xcon / Postfix', value: (xcon / p.rate).toFixed(1), goal: '>= 10', met: xcon / p.rate >= 10 })
  }
}
if (parts.has('recovery')) {
  log(`recovery: a leaky MTA with ${backlog} queued for a healthy peer, restarted...`)
  const r = await recovery(backlog)
  results.recovery = { backlog, ...r }
  rows.push({ figure: `restart to empty queue, ${backlog} backlog`, value: `${r.seconds.toFixed(2)} s (${(backlog / r.seconds).toFixed(0)} msg/s)`, goal: '', met: null })
}
if (parts.has('failure')) {
  log('failure detection: kill -9 of a peer, then a black-holed link...')
  const f = await failureDetection()
  results.failureDetection = f
  rows.push({ figure: 'kill -9 of the peer to association closed', value: `${f.killSeconds.toFixed(2)} s`, goal: '', met: null })
  rows.push({ figure: 'black-holed link to heartbeat detection', value: `${f.blackholeSeconds.toFixed(2)} s`, goal: '<= 3 s (1 s ping + 2 s)', met: f.blackholeSeconds <= 3.5 })
}
if (parts.has('memory')) {
  log(`memory: ${queuedMessages} messages of 1 KiB queued for a peer that is down, then a restart...`)
  const m = await backlogMemory(queuedMessages)
  results.backlogMemory = m
  const mb = (s: { rssMB: number, anonMB: number, fileMB: number }): string => `${s.rssMB.toFixed(0)} MB (${s.anonMB.toFixed(0)} private + ${s.fileMB.toFixed(0)} mapped)`
  rows.push({ figure: 'one MTA idle: RSS (private + mapped files)', value: mb(m.idle), goal: '', met: null })
  rows.push({ figure: `${queuedMessages} queued, ${QUEUED_SECONDS} s after the intake: RSS`, value: mb(m.queued), goal: '< 100 MB', met: m.queued.rssMB < 100 })
  rows.push({ figure: `${queuedMessages} queued, ${SETTLE_SECONDS} s after the intake: RSS`, value: mb(m.settled), goal: '< 100 MB', met: m.settled.rssMB < 100 })
  rows.push({ figure: `${queuedMessages} queued: private memory, ${QUEUED_SECONDS} s / ${SETTLE_SECONDS} s after`, value: `${m.queued.anonMB.toFixed(0)} MB / ${m.settled.anonMB.toFixed(0)} MB`, goal: '< 100 MB', met: Math.max(m.queued.anonMB, m.settled.anonMB) < 100 })
  rows.push({ figure: `restarted with ${queuedMessages} queued: RSS`, value: `${mb(m.restarted)}, ready in ${m.restartSeconds.toFixed(1)} s`, goal: '< 100 MB', met: m.restarted.rssMB < 100 })
  rows.push({ figure: `the peer back, ${queuedMessages} drained in ${m.drainSeconds.toFixed(0)} s: RSS at queue depth 0`, value: mb(m.drained), goal: '', met: null })
  rows.push({ figure: `drained, ${SETTLE_SECONDS} s later: RSS`, value: mb(m.drainedSettled), goal: '< 100 MB', met: m.drainedSettled.rssMB < 100 })
  rows.push({ figure: `store file on disk: ${queuedMessages} queued / ${SETTLE_SECONDS} s after the drain`, value: `${m.storeQueuedMB.toFixed(0)} MB / ${m.storeDrainedMB.toFixed(0)} MB`, goal: '', met: null })
}
if (parts.has('strangers')) {
  log('strangers: three callers that never bind hold every place on a pre-SP4 MTA while its peer sends it mail...')
  const c = await slowCallers()
  results.slowCallers = c
  rows.push({ figure: `3 callers that never bind, ${c.strangerConnections} connections in ${c.seconds} s: the peer's mail, delay median / max`, value: `${(c.delayMedianMs / 1000).toFixed(2)} s / ${(c.delayMaxMs / 1000).toFixed(2)} s (${c.messages} messages)`, goal: 'max < 9 s (3 bind timeouts)', met: c.delayMaxMs < 9000 })
  rows.push({ figure: '  control blocks the peer (pre-SP4) lost meanwhile', value: String(c.peerLeaked), goal: '0', met: c.peerLeaked === 0 })
  rows.push({ figure: 'a caller refused with 4429 that never answers the close: socket held, median / max of 20', value: `${c.refusedHeldMedianMs} ms / ${c.refusedHeldMaxMs} ms`, goal: '< 1 s (ws alone: 30 s)', met: c.refusedHeldMaxMs < 1000 })
}
if (parts.has('status')) {
  log('status: xcon status on the default site, local processes and then containers...')
  const local = await localStatusLatency()
  const docker = await dockerStatusLatency()
  results.status = { local, docker }
  rows.push({ figure: `xcon status, 4 local MTAs: median / max of ${local.runs}`, value: `${local.medianSeconds.toFixed(2)} s / ${local.maxSeconds.toFixed(2)} s`, goal: '< 1 s', met: local.maxSeconds < 1 })
  if ('why' in docker) rows.push({ figure: 'xcon status --docker, 4 containers', value: `not run: ${docker.why}`, goal: '< 1 s', met: null })
  else rows.push({ figure: `xcon status --docker, 4 containers: median / max of ${docker.runs}`, value: `${docker.medianSeconds.toFixed(2)} s / ${docker.maxSeconds.toFixed(2)} s`, goal: '< 1 s', met: docker.maxSeconds < 1 })
}
if (parts.has('pool')) {
  log('pool: one association\'s life (its control block and its machine), with 20, 200 and 1,000 others live...')
  const churn = [20, 200, 1000].map(live => poolChurn(live))
  results.poolChurn = churn
  const at20 = churn[0]!.microsPerAssociation
  for (const c of churn) {
    rows.push({ figure: `pool: one association's block, machine, bind and release, with ${c.live} live (${c.associations}, warm)`, value: `${c.microsPerAssociation.toFixed(0)} µs`, goal: c.live === 20 ? '' : 'no more than at 20', met: c.live === 20 ? null : c.microsPerAssociation <= at20 * 1.1 })
  }
}
if (parts.has('scale')) {
  log('scale: one association at a time between two MTAs, then over bare ws...')
  try {
    const a = await associationCost()
    results.associationCost = a
    rows.push({ figure: `one message per association, 2 MTAs, warm, ${a.associations} of them: CPU sender / receiver`, value: `${a.senderMs.toFixed(2)} ms / ${a.receiverMs.toFixed(2)} ms (with its HTTP submission and delivery poll)`, goal: '', met: null })
    rows.push({ figure: '  the same frames over bare ws, no store: CPU client / server', value: `${a.rawClientMs.toFixed(2)} ms / ${a.rawServerMs.toFixed(2)} ms`, goal: '', met: null })
  } catch (err) {
    rows.push({ figure: 'one message per association, 2 MTAs', value: `failed: ${errorText(err)}`, goal: '', met: null })
  }
  const scaleResults: ScaleResult[] = []
  for (const n of sizes) {
    log(`scale: a full mesh of ${n} MTAs...`)
    try {
      const s = await scale(n)
      scaleResults.push(s)
      const meshGoal = n >= 100 ? '< 30 s at 100' : ''
      if (s.probeRetries > 0) log(`scale: ${s.probeRetries} probe submissions at ${n} MTAs failed at the HTTP level and were sent again`)
      const mesh = s.meshComplete ? `${s.meshSeconds.toFixed(1)} s` : `not closed: ${s.probes} of ${s.probesExpected} probes in ${s.meshSeconds.toFixed(0)} s, load ${s.loadAverage.toFixed(0)}`
      rows.push({ figure: `${n} MTAs: ready / full mesh probed (open timeout 10 s)`, value: `${s.readySeconds.toFixed(1)} s / ${mesh}`, goal: meshGoal, met: n >= 100 ? s.meshComplete && s.meshSeconds < 30 : null })
      // RSS counts the node binary's pages (about 40 MB) in every process although they are shared; PSS divides them.
      rows.push({ figure: `${n} MTAs, full mesh open: PSS median / max (shared pages divided)`, value: `${s.pssMedianMB.toFixed(0)} / ${s.pssMaxMB.toFixed(0)} MB`, goal: '< 60 MB', met: s.pssMaxMB < 60 })
      // What holds the mesh back: its CPU over the cores is the least it could take (README, "What fails first").
      rows.push({ figure: `${n} MTAs: MTA CPU per probe delivered / the mesh's CPU over ${s.cores} cores`, value: `${s.cpuMsPerProbe.toFixed(1)} ms / ${s.meshCpuFloorSeconds.toFixed(1)} s`, goal: '', met: null })
      rows.push({ figure: `${n} MTAs: RSS median / max, CPU per MTA (light traffic)`, value: `${s.rssMedianMB.toFixed(0)} / ${s.rssMaxMB.toFixed(0)} MB, ${s.cpuPercentPerMta.toFixed(1)} %`, goal: '', met: null })
    } catch (err) {
      rows.push({ figure: `${n} MTAs`, value: `failed: ${errorText(err)}`, goal: n >= 100 ? '< 30 s at 100' : '', met: n >= 100 ? false : null })
    }
  }
  results.scale = scaleResults
}
if (parts.has('simulate')) {
  log('simulate: scenarios/month.yaml, 30 days of 20 MTAs at timeScale 1, in simulated time...')
  const sim = await simulationSpeed()
  results.simulation = sim
  rows.push({ figure: `simulation speed (${sim.mtas} MTAs, ${sim.timers} timers, ${sim.messages} messages)`, value: `${(sim.mtaSecondsPerSecond / 1e6).toFixed(2)} M MTA-seconds per second`, goal: '', met: null })
  rows.push({ figure: `${(sim.simulatedSeconds / 86_400).toFixed(0)} days, ${sim.mtas} MTAs, timeScale 1 (month.yaml, ${sim.verdict})`, value: `${sim.wallSeconds.toFixed(1)} s`, goal: '< 5 s target', met: sim.wallSeconds < 5 })
  rows.push({ figure: '  the same, against the floor', value: `${sim.wallSeconds.toFixed(1)} s`, goal: '< 30 s floor', met: sim.wallSeconds < 30 })
}

const widths = [Math.max(...rows.map(r => r.figure.length), 6), Math.max(...rows.map(r => r.value.length), 5), Math.max(...rows.map(r => r.goal.length), 4)]
const line = (a: string, b: string, c: string, d: string): string => `${a.padEnd(widths[0]!)}  ${b.padEnd(widths[1]!)}  ${c.padEnd(widths[2]!)}  ${d}`
process.stdout.write(`${line('FIGURE', 'VALUE', 'GOAL', 'MET')}\n${rows.map(r => line(r.figure, r.value, r.goal, r.met === null ? '' : r.met ? 'yes' : 'NO')).join('\n')}\n`)
const outDir = values.out ?? join('bench', 'results')
mkdirSync(outDir, { recursive: true })
const file = join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`)
writeFileSync(file, JSON.stringify({ ...results, rows }, null, 2))
process.stdout.write(`results: ${file}\n`)
