import type { Actor } from 'xstate'
import type { MtaStatusDocument, SmtpQueueStatus } from '../admin/admin-contract.js'
import type { AssociationPorts } from '../association/association.js'
import type { TransportLogic } from '../association/association.machine.js'
import type { MtaConfig } from '../config/mta-config.js'
import { mtaDn, queueRebuilt, serviceStarted, serviceStopped, storeCheckComplete, storeCheckStarted } from '../events.js'
import type { PoolKind } from '../pool/pool.events.js'
import { freeBlocks, startPool, type poolMachine } from '../pool/pool.machine.js'
import { PeerQueue, type QueueHost } from '../queue/peer-queue.js'
import type { Clock, FloodGate, Intake, LogSink, MailStore, QueuedMessage, StoreCheck } from '../ports.js'
import { associationLog } from './association-log.js'
import { LEAK_RATE_WINDOW_OPEN_INTERVALS } from './exhaustion-estimate.js'
import { InboundAcceptance, type InboundRefusal } from './inbound-acceptance.js'
import { inboundTransfer, type AcceptTransfer } from './inbound-transfer.js'
import { MtaCounters } from './mta-counters.js'
import { mtaStatus } from './mta-status.js'
import { nonDelivery, type NonDelivery } from './non-delivery.js'
import { Rerouting } from './rerouting.js'
import { submission, type MtaState, type Submission, type SubmitMail } from './submission.js'

/** What an MTA runs on: the shell's (or the simulator's) clock, log, store, disk and network. */
export interface NodePorts {
  log: LogSink
  store: MailStore
  clock: Clock
  intake: Intake
  floods: FloodGate
  /** The transport of one pool's associations; `accept` stores what an inbound association carries. */
  transport: (kind: PoolKind, accept: AcceptTransfer) => TransportLogic
  /** Named in the status document. */
  pid: number
}

/** A queue the MTA hands stored records to, besides its peer queues (the IMS's SMTP queue). */
export interface ExtraQueue {
  readonly key: string
  add: (items: QueuedMessage[]) => void
  restore: (count: number) => void
  status: () => SmtpQueueStatus
  stop: (graceMs: number) => Promise<void>
}

/**
 * One Exchange 5.5 MTA without I/O: it wires its parts and runs their lifecycle (start, stop,
 * halt). The parts, each in a file named for its job: the two control-block pools
 * (pool.machine.ts), one queue per other server of the site and per connector, each owning its
 * association (peer-queue.ts), inbound acceptance, submission, the inbound transfer, rerouting,
 * non-delivery, and the counters and status. A message's path: submission → its queue → the
 * peer's inbound transfer (docs/architecture.md). The shell (packages/mta) adds the listener, the
 * admin API and the IMS; the simulator runs many of these under one virtual clock.
 */
export class MtaNode {
  readonly log: LogSink
  readonly store: MailStore
  readonly clock: Clock
  readonly disk: Intake
  readonly pid: number
  /** The intra-site pool (network type 5): the one Q260167 is about. */
  readonly pool: Actor<typeof poolMachine>
  /** The connector pool (network type 1): Site and X.400 Connector associations. */
  readonly connectorPool: Actor<typeof poolMachine>
  /** Outbound queues by key: `server:NAME` for each other server of the site, `connector:NAME` for each connector. */
  readonly queues = new Map<string, PeerQueue>()
  readonly counters: MtaCounters
  readonly inbound: InboundAcceptance
  /** Accepts `count` copies of a submission in one durable transaction (submission.ts). */
  readonly submitMany: SubmitMail
  readonly acceptTransfer: AcceptTransfer
  readonly nonDelivery: NonDelivery
  private readonly rerouting: Rerouting
  ims: { listener: { port: number | undefined }, queue: ExtraQueue } | undefined
  /** What the store check found at start-up (MTACHECK after an unclean stop). */
  storeCheck: StoreCheck | undefined
  readonly startedAt: number
  state: MtaState = 'starting'
  port: number | undefined

  constructor (readonly config: MtaConfig, ports: NodePorts) {
    const { log, store, clock, intake, floods } = ports
    this.log = log
    this.store = store
    this.clock = clock
    this.disk = intake
    this.pid = ports.pid
    this.startedAt = clock.now()
    this.counters = new MtaCounters(log, clock)
    const enqueue = (records: QueuedMessage[]): void => { this.enqueue(records) }
    this.rerouting = new Rerouting({ topology: config.topology, server: config.server.name, log, store, queues: this.queues, enqueue })
    const route = (recipients: readonly string[]) => this.rerouting.route(recipients)
    // A non-delivery report is submitted like any mail; submission answers unknown recipients with one.
    this.nonDelivery = nonDelivery({ log, store, counters: this.counters, submit: async s => await this.submit(s) })
    this.submitMany = submission({ config, clock, store, intake, route, enqueue, nonDelivery: this.nonDelivery, submitted: n => { this.counters.submitted += n } })
    this.acceptTransfer = inboundTransfer({ config, clock, log, store, intake, route, enqueue })
    const timers = { setTimeout: (fn: () => void, ms: number) => clock.setTimeout(fn, ms), clearTimeout: (id: unknown) => { clock.clearTimeout(id) } }
    const { leakPolicy, leakSeed, networkType, connectorControlBlocks, limits } = config
    this.pool = startPool({ capacity: config.server.controlBlocks, networkType, leakPolicy, seed: leakSeed, maxOpening: limits.maxOpening }, timers)
    // The connector pool (network type 1, X.400 over TCP/IP) never leaks: the KB says connectors are not affected.
    this.connectorPool = startPool({ capacity: connectorControlBlocks, networkType: 1, leakPolicy: { leaks: false, kinds: [], probability: 0 }, seed: 0, maxOpening: limits.maxOpening }, timers)
    const report = associationLog(log, floods, this.counters)
    const accept = this.acceptTransfer
    const associations: Record<PoolKind, AssociationPorts> = {
      site: { kind: 'site', pool: this.pool, transport: ports.transport('site', accept), clock, timing: config.timing, report },
      connector: { kind: 'connector', pool: this.connectorPool, transport: ports.transport('connector', accept), clock, timing: config.timing, report }
    }
    this.inbound = new InboundAcceptance({ config, clock, log, floods, associations, running: () => this.state === 'running' })
    const host: QueueHost = {
      config,
      log,
      store,
      clock,
      associations,
      nonDelivery: this.nonDelivery,
      onDown: (queue) => { this.rerouting.around(queue).catch((err: Error) => log.error({ err }, `rerouting around ${queue.key} failed`)) }
    }
    for (const peer of config.peers) {
      this.queues.set(`server:${peer.name}`, new PeerQueue(`server:${peer.name}`, host, { targets: [peer.name], channel: 'site', dn: mtaDn(config.organization, config.site.name, peer.name) }))
    }
    for (const c of Object.values(config.topology.connectors)) {
      // Only a bridgehead of this site opens the connector's associations.
      if (!(c.bridgeheads[config.site.name] ?? []).includes(config.server.name)) continue
      const far = c.sites[0] === config.site.name ? c.sites[1] : c.sites[0]
      this.queues.set(`connector:${c.name}`, new PeerQueue(`connector:${c.name}`, host, {
        targets: c.bridgeheads[far]!,
        channel: c.name,
        dn: `/o=${config.organization}/ou=${config.site.name}/cn=Configuration/cn=Connections/cn=${c.name}`
      }))
    }
  }

  /** The queue a next-hop key names, or undefined for one this MTA does not have. */
  private queueFor (key: string): { add: (items: QueuedMessage[]) => void, restore: (count: number) => void } | undefined {
    return key === 'ims' ? this.ims?.queue : this.queues.get(key)
  }

  /** Hands stored records to their queues, one call per queue. */
  private enqueue (records: QueuedMessage[]): void {
    if (records.length === 1) { this.queueFor(records[0]!.queue)?.add(records); return }
    const byQueue = new Map<string, QueuedMessage[]>()
    for (const r of records) {
      const list = byQueue.get(r.queue)
      if (list === undefined) byQueue.set(r.queue, [r])
      else list.push(r)
    }
    for (const [key, items] of byQueue) this.queueFor(key)?.add(items)
  }

  /** Outbound opens waiting for their turn in either pool (status `opensWaiting`, and its gauge). */
  get opensWaiting (): number {
    return this.pool.getSnapshot().context.waiting.length + this.connectorPool.getSnapshot().context.waiting.length
  }

  /** Seconds of MTA time until the intra-site pool has no free block, at the recent leak rate; undefined while nothing leaks. */
  secondsToExhaustion (): number | undefined {
    const ctx = this.pool.getSnapshot().context
    return this.counters.leaks.secondsToExhaustion(this.clock.now(), LEAK_RATE_WINDOW_OPEN_INTERVALS * this.config.retry.openIntervalMs, freeBlocks(ctx), this.config.server.timeScale)
  }

  /**
   * Checks the store, lets the shell open its doors (`listen`: the association
   * listener and the IMS, answering the fields 9298 names), reloads the durable queues, and logs 9298.
   */
  async start (listen: () => Promise<{ port: number | undefined, smtpPort?: number | undefined }> = async () => ({ port: undefined })): Promise<void> {
    const { server } = this.config
    await this.checkStore()
    const { port, smtpPort } = await listen()
    this.port = port
    // Queues restart from counts; their contents stay on disk until the queue reaches them.
    const restored = Object.entries(this.storeCheck!.queues)
    for (const [key, count] of restored) {
      const queue = this.queueFor(key)
      if (queue === undefined) {
        this.log.warn({ category: 'Configuration', queue: key, depth: count }, `${count} queued messages for ${key}, which this MTA no longer serves, stay in the store`)
        continue
      }
      queue.restore(count)
    }
    if (restored.length > 0) {
      this.log.info({ category: 'MTA Administration', queues: Object.fromEntries(restored) }, 'queues restored from the store')
    }
    this.state = 'running'
    this.counters.event(serviceStarted(server.build), {
      port: this.port ?? null,
      ...(smtpPort === undefined ? {} : { smtpPort }),
      controlBlocks: server.controlBlocks,
      timeScale: server.timeScale,
      leak: this.config.leakPolicy.leaks ? { kinds: this.config.leakPolicy.kinds, probability: this.config.leakPolicy.probability, seed: this.config.leakSeed } : false
    })
  }

  /**
   * After a stop that was not clean, checks the store as MTACHECK did and logs 2219, one 2206 per
   * queue it found, and 2207; after a clean stop only counts the queues.
   */
  private async checkStore (): Promise<void> {
    const check = await this.store.openAndCheck()
    this.storeCheck = check
    if (!check.unclean) return
    this.counters.event(storeCheckStarted())
    const queues = Object.entries(check.queues)
    for (const [queue, messages] of queues) this.counters.event(queueRebuilt(queue, messages), { queue, messages })
    this.counters.event(storeCheckComplete(queues.length, check.messages, check.removed), { queues: queues.length, messages: check.messages, removed: check.removed, rebuilt: check.rebuilt })
  }

  /** A caller connected: `socket` goes to a new inbound association, or the caller is refused (InboundAcceptance). */
  admitInbound (channel: string, address: string, socket: unknown, waitedMs = 0): InboundRefusal | undefined {
    return this.inbound.admit(channel, address, socket, waitedMs)
  }

  /** Accepts mail from a client: durably queued or delivered before the MTS-ID is returned. */
  async submit (s: Submission): Promise<string> {
    return (await this.submitMany(s, 1))[0]!
  }

  /** The `GET /status` document of this MTA. */
  status (): MtaStatusDocument {
    return mtaStatus(this)
  }

  listDeliveries (after: number) {
    return this.store.listDeliveries(after)
  }

  /** Associations that still hold a control block, in both pools. */
  private busy (): number {
    return this.pool.getSnapshot().context.held.size + this.connectorPool.getSnapshot().context.held.size
  }

  /**
   * Closes down: let transfers in flight finish (what does not finish stays queued), release
   * every association, close the store, log 9299. The shell has stopped its listener first.
   */
  async stop (graceMs = 3000): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return
    this.state = 'stopping'
    // Each queue stops opening at once, then releases its association once nothing is in flight.
    await Promise.all([...[...this.queues.values()].map(async q => await q.stop(graceMs)), this.ims?.queue.stop(graceMs)])
    this.pool.send({ type: 'pool.drain' })
    this.connectorPool.send({ type: 'pool.drain' })
    this.inbound.releaseAll()
    const { clock } = this
    const deadline = clock.now() + 2000
    while (this.busy() > 0 && clock.now() < deadline) await new Promise<void>(resolve => { clock.setTimeout(resolve, 20) })
    for (const q of this.queues.values()) q.haltAssociation()
    this.inbound.halt()
    this.pool.stop()
    this.connectorPool.stop()
    await this.store.close()
    this.state = 'stopped'
    this.counters.event(serviceStopped(this.config.server.build))
  }

  /** Ends at once, as a kill -9 does: timers and associations stop, nothing more is written. */
  halt (): void {
    this.state = 'stopped'
    for (const q of this.queues.values()) q.halt()
    this.inbound.halt()
    this.pool.stop()
    this.connectorPool.stop()
  }
}
