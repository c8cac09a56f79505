import type { DeliveryRecord, MtaStatusDocument } from '../admin/admin-contract.js'
import { resolveMtaConfig, type MtaConfig } from '../config/mta-config.js'
import { HEARTBEAT_INTERVAL_MS, HEARTBEAT_TIMEOUT_MS } from '../defaults.js'
import { MtaNode } from '../node/mta-node.js'
import { sampleFigures, type SampleFigures } from '../node/mta-status.js'
import type { Intake, LogSink, MailStore } from '../ports.js'
import { SmtpQueue, type SmtpRelay } from '../queue/smtp-queue.js'
import type { Submission } from '../node/submission.js'
import { cutLinks } from '../scenario/cut-links.js'
import type { FaultStep } from '../scenario/scenario.js'
import { allServers, type Topology } from '../topology/topology.js'
import { MemoryStore } from './memory-store.js'
import { SimNetwork, type SimHost } from './sim-network.js'
import { VirtualClock } from './virtual-clock.js'

/** What a simulated MTA's log line is handed to: pino's level name, the fields, the message. */
export type SimLogLine = (server: string, level: 'debug' | 'info' | 'warn' | 'error', fields: Record<string, unknown>, msg: string) => void

/** A simulated MTA process, as `xcon status` would name its state. */
export type SimState = 'running' | 'paused' | 'down'

/**
 * How long an MTA process takes from its start to 9298 (node, the store, the listener): the
 * median of the process backend on the development machine, 0.52-0.81 s over 8 starts. Not an
 * Exchange time, so not scaled: at timeScale 600 it is 6 minutes of MTA time, as on processes.
 */
export const PROCESS_START_MS = 650

/** A heartbeat interval no association lives to see: a year. */
const NO_HEARTBEAT_MS = 365 * 86_400_000

/** The simulator has no disk to fill: intake is always open (9411 is for the process backend). */
const OPEN_INTAKE: Intake = {
  intakeOpen: true,
  freeBytes: undefined,
  assertRoom: () => undefined,
  writeFailed: () => false
}

/**
 * The smart host of a simulated IMS: it takes every message, at once. (SMTP relaying is the
 * process backend's to test; the simulator keeps IMS mail moving so that none waits for ever.)
 */
const ACCEPTING_RELAY: SmtpRelay = { send: async () => ({ ok: true }), close: () => undefined }

interface Incarnation {
  host: SimHost
  node: MtaNode
  store: MailStore & { revoke: () => void }
  stopping: Promise<void> | undefined
}

interface SimServer {
  readonly name: string
  readonly config: MtaConfig
  readonly store: MemoryStore
  live: Incarnation | undefined
  /** Set while a start waits for the process to boot. */
  booting: object | undefined
}

/**
 * Every MTA of a topology in one process, on one virtual clock and one in-memory network: the
 * same MtaNode the processes run, with a memory store that survives kills as LMDB does. Faults
 * mean what they mean on processes: kill loses volatile state and keeps the store (the next
 * start runs the store check, 2219); stop is a clean closedown (9299); pause freezes an MTA so
 * that its peers time out; the link faults are the proxies' (SimNetwork).
 */
export class SimSite {
  readonly clock: VirtualClock
  readonly net: SimNetwork
  private readonly servers = new Map<string, SimServer>()

  constructor (readonly topology: Topology, start: number, private readonly onLog: SimLogLine, env: Record<string, string | undefined> = {}, private readonly startMs = PROCESS_START_MS) {
    this.clock = new VirtualClock(start)
    // Heartbeats are the network's to simulate (SimNetwork): the MTAs' own are turned off.
    const simEnv = { ...env, XCON_HEARTBEAT_INTERVAL_MS: String(NO_HEARTBEAT_MS) }
    const first = allServers(topology)[0]
    const timing = first === undefined ? undefined : resolveMtaConfig(topology, first.name, env).timing
    this.net = new SimNetwork((timing?.heartbeatIntervalMs ?? HEARTBEAT_INTERVAL_MS) + (timing?.heartbeatTimeoutMs ?? HEARTBEAT_TIMEOUT_MS))
    for (const s of allServers(topology)) {
      this.servers.set(s.name, { name: s.name, config: resolveMtaConfig(topology, s.name, simEnv), store: new MemoryStore(() => this.clock.now()), live: undefined, booting: undefined })
    }
  }

  get names (): string[] {
    return [...this.servers.keys()]
  }

  private server (name: string): SimServer {
    const s = this.servers.get(name)
    if (s === undefined) throw new Error(`no MTA named ${name} in this topology (it has ${this.names.join(', ')})`)
    return s
  }

  state (name: string): SimState {
    const live = this.server(name).live
    return live === undefined ? 'down' : live.host.scope.isPaused ? 'paused' : 'running'
  }

  /**
   * Starts the MTA if it is down: a new incarnation on the store it had. `booting` is how long a
   * process takes to come up (PROCESS_START_MS): a fault's start waits that long, as a process's
   * does, with nothing listening yet; the run's first start does not (the process runner starts
   * its clock once every MTA answers). A kill during the boot cancels it.
   */
  async start (name: string, booting = this.startMs): Promise<void> {
    const s = this.server(name)
    if (s.live !== undefined || s.booting !== undefined) return
    if (booting > 0) {
      const boot = {}
      s.booting = boot
      await new Promise<void>(resolve => { this.clock.setTimeout(resolve, booting) })
      if (s.booting !== boot) return
      s.booting = undefined
      if (s.live !== undefined) return
    }
    const scope = this.clock.scope()
    const host: SimHost = { name, scope, node: undefined, accept: undefined }
    const store = s.store.open()
    const log = this.sink(name, scope)
    const node = new MtaNode(s.config, {
      log, store, clock: scope, intake: OPEN_INTAKE, floods: { admit: () => true }, pid: 0,
      transport: (_kind, accept) => { host.accept = accept; return this.net.transport(host) }
    })
    if (s.config.server.ims !== undefined) {
      node.ims = { listener: { port: undefined }, queue: new SmtpQueue({ config: s.config, log, store, clock: scope, nonDelivery: async (i, r, d) => await node.nonDelivery(i, r, d) }, ACCEPTING_RELAY) }
    }
    host.node = node
    s.live = { host, node, store, stopping: undefined }
    await node.start(async () => { this.net.listen(host); return { port: undefined } })
  }

  /** Ends the MTA at once: nothing more runs or is written; its peers see their associations reset. */
  kill (name: string): void {
    const s = this.server(name)
    s.booting = undefined
    const live = s.live
    if (live === undefined) return
    s.live = undefined
    live.host.scope.end()
    live.store.revoke()
    this.net.drop(live.host)
    live.node.halt()
  }

  /** A clean closedown (transfers in flight finish, associations are released, 9299), in simulated time. */
  async stop (name: string): Promise<void> {
    const s = this.server(name)
    const live = s.live
    if (live === undefined) return
    if (live.stopping === undefined) {
      live.stopping = live.node.stop().then(() => {
        if (s.live !== live) return
        s.live = undefined
        live.host.scope.end()
        this.net.drop(live.host)
        live.node.halt()
      })
    }
    await live.stopping
  }

  async restart (name: string): Promise<void> {
    await this.stop(name)
    await this.start(name)
  }

  pause (name: string): void {
    const live = this.server(name).live
    if (live === undefined || live.host.scope.isPaused) return
    live.host.scope.pause()
    this.net.paused(live.host)
  }

  resume (name: string): void {
    this.server(name).live?.host.scope.resume()
  }

  /** Plays one step of a scenario's fault schedule, as the process backend does. */
  async applyFault (step: FaultStep): Promise<void> {
    const each = async (fn: (n: string) => Promise<void> | void): Promise<void> => { await Promise.all(step.targets.map(async n => { await fn(n) })) }
    switch (step.action) {
      // A node has no body in the simulation: its MTAs fail and come back together.
      case 'fail-node':
      case 'kill': return await each(n => this.kill(n))
      case 'restore-node': return await each(async n => await this.start(n))
      case 'stop': return await each(async n => await this.stop(n))
      case 'start': return await each(async n => await this.start(n))
      case 'restart': return await each(async n => await this.restart(n))
      case 'pause': return await each(n => this.pause(n))
      case 'resume': return await each(n => this.resume(n))
      case 'partition':
        for (const [a, b] of cutLinks(step)) this.net.setMode(a, b, step.mode ?? 'blackhole')
        return
      case 'latency':
        for (const [a, b] of cutLinks(step)) this.net.setLatency(a, b, step.delayMs ?? 0)
        return
      case 'join':
        this.restoreLinks(step.targets)
        return
      case 'heal':
        this.restoreLinks(step.targets)
        await each(async n => {
          if (this.state(n) === 'paused') this.resume(n)
          if (this.state(n) === 'down') await this.start(n)
        })
    }
  }

  /** Every link to or from the targets passes again, with no added latency. */
  private restoreLinks (targets: string[]): void {
    for (const a of this.names) {
      for (const b of this.names) {
        if (a === b || (!targets.includes(a) && !targets.includes(b))) continue
        this.net.setMode(a, b, 'pass')
        this.net.setLatency(a, b, 0)
      }
    }
  }

  /** The status document of a running MTA; undefined for one that is down or paused (it would not answer). */
  status (name: string): MtaStatusDocument | undefined {
    return this.state(name) === 'running' ? this.server(name).live!.node.status() : undefined
  }

  /** The sample figures of a running MTA (what `status` would give, for less). */
  sample (name: string): SampleFigures | undefined {
    return this.state(name) === 'running' ? sampleFigures(this.server(name).live!.node) : undefined
  }

  deliveries (name: string, after: number, limit = 10_000): DeliveryRecord[] {
    return this.server(name).store.listDeliveries(after, limit)
  }

  /** Submits as a client of the MTA would: refused while it is down, unanswered while it is paused. */
  async submit (name: string, s: Submission, count = 1): Promise<string[]> {
    const state = this.state(name)
    if (state === 'down') throw new Error(`connect ECONNREFUSED: ${name} is down`)
    if (state === 'paused') throw new Error(`${name} did not answer: the process is paused`)
    const live = this.server(name).live!
    if (live.node.state !== 'running') throw new Error(`${name} is closing down`)
    return await live.node.submitMany(s, count)
  }

  /** Mail waiting in every store of the site, whether its MTA runs or not. */
  get stored (): number {
    let n = 0
    for (const s of this.servers.values()) n += s.store.depth
    return n
  }

  /** Closes every running MTA down cleanly. */
  async close (): Promise<void> {
    for (const name of this.names) if (this.state(name) === 'paused') this.resume(name)
    await Promise.all(this.names.map(async n => await this.stop(n)))
  }

  private sink (server: string, scope: { isEnded: boolean }): LogSink {
    const line = (level: 'debug' | 'info' | 'warn' | 'error') => (obj: object, msg?: string): void => {
      if (!scope.isEnded) this.onLog(server, level, obj as Record<string, unknown>, msg ?? '')
    }
    return { debug: line('debug'), info: line('info'), warn: line('warn'), error: line('error') }
  }
}
