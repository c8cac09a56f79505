import type { Actor } from 'xstate'
import type { MtaStatusDocument, SmtpQueueStatus } from '../admin/admin-contract.js'
import { clip, closeReason } from '../clip.js'
import type { MtaConfig } from '../config/mta-config.js'
import { CallersBindingError, ControlBlocksExhaustedError, DiskFullError, InvalidAddressError, MessageTooLargeError, ShuttingDownError, TooManyRecipientsError, type XconError } from '../errors.js'
import { MAX_ADDRESS_LENGTH, MAX_SUBJECT_LENGTH } from '../defaults.js'
import {
  mtaDn, nonDeliveryGenerated, queueRebuilt, serviceStarted, serviceStopped, storeCheckComplete, storeCheckStarted, type MtaEvent
} from '../events.js'
import { formatMtsId, type Envelope } from '../message.js'
import { poolDisplace, poolDrain, poolOpen, poolRelease } from '../pool/pool.events.js'
import { freeBlocks, type poolMachine } from '../pool/pool.machine.js'
import type { TransferAckFrame, TransferFrame, TransferOutcome } from '../protocol/frames.js'
import { PeerQueue, type QueueHost } from '../queue/peer-queue.js'
import { acceptInbound, copiesByHop, mayReroute, nonDeliveryReport, rerouteTarget } from '../routing/decisions.js'
import { UNRECOGNISED_OR_NAME, isMailbox, unknownRecipients } from '../routing/directory.js'
import { classifyAddress } from '../routing/gwart.js'
import { route, type Route } from '../routing/route.js'
import { createPool, type TransportLogic } from './create-pool.js'
import { LEAK_RATE_WINDOW_OPEN_INTERVALS, LeakClock } from './exhaustion-estimate.js'
import { CallerLimits } from './caller-limits.js'
import { OpenGate } from './open-gate.js'
import { logEvent } from '../log-event.js'
import { mtaStatus } from './mta-status.js'
import { onPoolEvent, type PoolKind } from './pool-events.js'
import type { Clock, FloodGate, Intake, LogSink, MailStore, QueuedMessage, StoreCheck } from '../ports.js'
import type { MtaState, Submission } from './submission.js'

/** Stores an inbound transfer and answers it, only after the store is durable. */
export type AcceptTransfer = (frame: TransferFrame, peer: string, channel: string) => Promise<TransferAckFrame>

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

/** Why an inbound association was turned away, for the shell to close its socket with. */
export interface InboundRefusal {
  closeCode: number
  reason: string
  /**
   * Not refused yet: every caller binding now is within its bind grace, and the oldest one's
   * runs out in this long. Ask again then, with the time waited so far (admitInbound).
   */
  retryInMs?: number
}

/** What an inbound caller is told when it is not admitted: the error's close code and its message, cut to fit. */
function refusal (err: XconError, retryInMs?: number): InboundRefusal {
  return { closeCode: err.closeCode ?? 4400, reason: closeReason(err.message), ...(retryInMs === undefined ? {} : { retryInMs }) }
}

/**
 * One Exchange 5.5 MTA's behaviour, without I/O: the control-block pools and their
 * associations, one queue per other server of the site and per connector, the decisions of
 * submission, inbound transfer and rerouting, and non-delivery reports. A message's path:
 * `submitMany` (route, store, enqueue) → PeerQueue (open, transfer) → the peer's
 * `acceptTransfer` (loop check, store once, deliver or relay). The shell (packages/mta) adds the
 * listener, the admin API and the IMS; the simulator runs many of these under one virtual clock.
 */
export class MtaNode {
  readonly log: LogSink
  readonly store: MailStore
  readonly clock: Clock
  readonly disk: Intake
  readonly floods: FloodGate
  readonly pid: number
  /** The intra-site pool (network type 5): the one Q260167 is about. */
  readonly pool: Actor<typeof poolMachine>
  /** The connector pool (network type 1): Site and X.400 Connector associations. */
  readonly connectorPool: Actor<typeof poolMachine>
  /** Outbound queues by key: `server:NAME` for each other server of the site, `connector:NAME` for each connector. */
  readonly queues = new Map<string, PeerQueue>()
  readonly eventCounts: Record<number, number> = {}
  /** Association ends by pool, direction and outcome (`site|outbound|refused`), for the metrics. */
  readonly associationCounts = new Map<string, number>()
  /** Messages clients submitted (not the MTA's own reports), since the process started. */
  submitted = 0
  /** When the intra-site pool kept control blocks: the exhaustion estimate reads it. */
  readonly leaks = new LeakClock()
  /** Inbound associations that hold a control block and have not bound yet (their callers have proved nothing). */
  readonly admission: CallerLimits<string>
  /**
   * Outbound opens wait here for their turn, MAX_OPENING at a time in each pool: association ids
   * are only a pool's own (a connector may share a server's name), and connector opens never wait
   * behind intra-site ones.
   */
  readonly opens: Record<PoolKind, OpenGate>
  ims: { listener: { port: number | undefined }, queue: ExtraQueue } | undefined
  /** What the store check found at start-up (MTACHECK after an unclean stop). */
  storeCheck: StoreCheck | undefined
  readonly startedAt: number
  state: MtaState = 'starting'
  port: number | undefined
  private inboundCount = 0

  constructor (readonly config: MtaConfig, ports: NodePorts) {
    this.log = ports.log
    this.store = ports.store
    this.clock = ports.clock
    this.disk = ports.intake
    this.floods = ports.floods
    this.pid = ports.pid
    this.startedAt = ports.clock.now()
    this.admission = new CallerLimits({ total: config.limits.maxUnbound, perAddress: config.limits.maxUnboundPerAddress, graceMs: config.limits.bindGraceMs })
    this.opens = { site: new OpenGate(config.limits.maxOpening), connector: new OpenGate(config.limits.maxOpening) }
    const accept: AcceptTransfer = async (frame, peer, channel) => await this.acceptTransfer(frame, peer, channel)
    this.pool = createPool('site', config, ports.transport('site', accept), ports.clock, e => onPoolEvent(this, 'site', e))
    this.connectorPool = createPool('connector', config, ports.transport('connector', accept), ports.clock, e => onPoolEvent(this, 'connector', e))
    const host: QueueHost = {
      config,
      log: this.log,
      store: this.store,
      clock: this.clock,
      open: (target, assocId, channel) => { this.opens[poolKindOf(channel)].request(assocId, () => this.poolOf(channel).send(poolOpen(assocId, 'outbound', target, channel))) },
      release: (assocId, channel) => this.poolOf(channel).send(poolRelease(assocId)),
      nonDelivery: async (item, reason, diagnostic) => await this.nonDelivery(item, reason, diagnostic),
      onDown: (queue) => { this.rerouteAround(queue).catch((err: Error) => this.log.error({ err }, `rerouting around ${queue.key} failed`)) }
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

  /** Routes with the GWART, avoiding connectors, and bridgeheads of this site, whose queue is failing. */
  private route (recipients: readonly string[]): Route {
    const down = (key: string): boolean => this.queues.get(key)?.isDown ?? false
    return route(this.config.topology, this.config.server.name, recipients, c => down(`connector:${c}`), s => down(`server:${s}`))
  }

  /**
   * A connector, or the association to a server of this site, failed to open: its waiting mail
   * that another route can carry moves there (the GWART's fallback): mail for another site that
   * waited for a bridgehead goes over a connector this server can use. Mail for the server itself
   * routes to the same queue, so it stays and waits for the next open retry.
   */
  private async rerouteAround (queue: PeerQueue): Promise<void> {
    if (!mayReroute(this.config.topology, queue.key)) return
    const waiting = queue.takeWaiting()
    const stay: QueuedMessage[] = []
    const moves: Array<{ from: QueuedMessage, to: Omit<QueuedMessage, 'seq'> }> = []
    for (const item of waiting) {
      const to = rerouteTarget(this.route(item.envelope.recipients), queue.key)
      if (to === undefined) stay.push(item)
      else moves.push({ from: item, to: { ...item, queue: to } })
    }
    if (stay.length > 0) queue.add(stay)
    if (moves.length === 0) return
    const records = await this.store.requeue(moves)
    this.log.warn({ category: 'X.400 Service', from: queue.key, count: records.length, to: [...new Set(records.map(r => r.queue))] }, `${records.length} messages rerouted around ${queue.key}, which cannot open`)
    this.enqueue(records)
  }

  /** Hands stored records to their queues, one call per queue. */
  private enqueue (records: QueuedMessage[]): void {
    const byQueue = new Map<string, QueuedMessage[]>()
    for (const r of records) {
      const list = byQueue.get(r.queue)
      if (list === undefined) byQueue.set(r.queue, [r])
      else list.push(r)
    }
    for (const [key, items] of byQueue) this.queueFor(key)?.add(items)
  }

  /** The pool of a channel: `site`, or a connector's name. */
  private poolOf (channel: string): Actor<typeof poolMachine> {
    return poolKindOf(channel) === 'site' ? this.pool : this.connectorPool
  }

  /** Outbound opens waiting for their turn in either pool (status `opensWaiting`, and its gauge). */
  get opensWaiting (): number {
    return this.opens.site.waiting + this.opens.connector.waiting
  }

  countAssociation (pool: PoolKind, direction: string, outcome: string): void {
    const key = `${pool}|${direction}|${outcome}`
    this.associationCounts.set(key, (this.associationCounts.get(key) ?? 0) + 1)
  }

  leaked (pool: PoolKind): void {
    if (pool === 'site') this.leaks.leaked(this.clock.now())
  }

  /** Seconds of MTA time until the intra-site pool has no free block, at the recent leak rate; undefined while nothing leaks. */
  secondsToExhaustion (): number | undefined {
    const ctx = this.pool.getSnapshot().context
    return this.leaks.secondsToExhaustion(this.clock.now(), LEAK_RATE_WINDOW_OPEN_INTERVALS * this.config.retry.openIntervalMs, freeBlocks(ctx), this.config.server.timeScale)
  }

  event (e: MtaEvent, fields: Record<string, unknown> = {}): void {
    this.eventCounts[e.eventId] = (this.eventCounts[e.eventId] ?? 0) + 1
    logEvent(this.log, e, fields)
  }

  /**
   * Starts the pools, checks the store, lets the shell open its doors (`listen`: the association
   * listener and the IMS, answering the fields 9298 names), reloads the durable queues, and logs 9298.
   */
  async start (listen: () => Promise<{ port: number | undefined, smtpPort?: number | undefined }> = async () => ({ port: undefined })): Promise<void> {
    this.pool.start()
    this.connectorPool.start()
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
    this.event(serviceStarted(server.build), {
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
    this.event(storeCheckStarted())
    const queues = Object.entries(check.queues)
    for (const [queue, messages] of queues) this.event(queueRebuilt(queue, messages), { queue, messages })
    this.event(storeCheckComplete(queues.length, check.messages, check.removed), { queues: queues.length, messages: check.messages, removed: check.removed, rebuilt: check.rebuilt })
  }

  /**
   * A caller connected on `channel` from `address`: it gets a control block and an inbound
   * association (`attach` hands the shell's socket to it first, under the association's id), or
   * a refusal to close the socket with. Callers that have proved nothing hold at most half the
   * pool; when that is full, or the pool has no free block, the oldest of them that has had the
   * bind grace gives its block to the newcomer (CallerLimits), so slow strangers cannot shut out
   * a real peer; while every one of them is within the grace, the newcomer is asked to wait
   * (`retryInMs`) rather than refused. With no control block free and none to take back, the
   * bind is refused (9156).
   */
  admitInbound (channel: string, address: string, attach: (assocId: string) => void, detach: (assocId: string) => void, waitedMs = 0): InboundRefusal | undefined {
    if (this.state !== 'running') return refusal(new ShuttingDownError())
    const now = this.clock.now()
    const room = this.admission.room(address, now)
    if (!room.ok) {
      const busy = new CallersBindingError(room.reason)
      // A real peer that met strangers within their grace waits a moment, rather than fail (a
      // failure a pre-SP4 peer might pay for with a control block); at most a bind timeout.
      if (room.retryInMs !== undefined && waitedMs + room.retryInMs <= this.config.timing.bindTimeoutMs) return refusal(busy, room.retryInMs)
      if (this.floods.admit('callers over the binding limit', address)) this.log.warn({ category: 'Security', address, channel, code: busy.code }, `inbound association from ${address} refused: ${busy.message}`)
      return refusal(busy)
    }
    const pool = this.poolOf(channel)
    // A pool with no free block, some of it held by strangers that have had their grace: one gives way.
    const displace = room.displace ?? (freeBlocks(pool.getSnapshot().context) > 0 ? undefined : this.admission.displaceable(now, id => id in pool.getSnapshot().context.held))
    if (displace !== undefined) this.displace(displace, address)
    const assocId = `in-${++this.inboundCount}`
    attach(assocId)
    this.admission.add(assocId, address, now)
    pool.send(poolOpen(assocId, 'inbound', undefined, channel))
    if (assocId in pool.getSnapshot().context.held) return undefined
    // No control block: the caller sees a failure (9156 logged by onPoolEvent).
    detach(assocId)
    this.admission.remove(assocId)
    const { networkType, capacity } = pool.getSnapshot().context
    return refusal(new ControlBlocksExhaustedError(networkType, capacity))
  }

  /** Ends an inbound association that has not bound, for a newer caller from `newcomer`: as unauthenticated, like its bind timeout. */
  private displace (assocId: string, newcomer: string): void {
    const from = this.admission.addressOf(assocId) ?? 'unknown'
    this.admission.remove(assocId)
    const reason = `not bound within ${this.config.limits.bindGraceMs} ms; its control block went to a newer caller from ${newcomer}`
    const pool = [this.pool, this.connectorPool].find(p => assocId in p.getSnapshot().context.held)
    pool?.send(poolDisplace(assocId, reason))
    if (this.floods.admit('callers displaced before they bound', from)) this.log.info({ category: 'Security', assoc: assocId, address: from, newcomer }, `inbound association ${assocId} from ${from} ${reason}`)
  }

  /** Accepts mail from a client: durably queued or delivered before the MTS-ID is returned. */
  async submit (s: Submission): Promise<string> {
    return (await this.submitMany(s, 1))[0]!
  }

  /**
   * Accepts `count` copies of a submission (each its own message and MTS-ID) in one durable
   * transaction: what a client with a batch, or a benchmark, needs to outpace the transfers.
   */
  async submitMany (s: Submission, count: number): Promise<string[]> {
    const { config } = this
    const content = s.content ?? new Uint8Array(0)
    // Every door checks the same limits: the admin API and the IMS both come through here.
    const over = this.overLimit(content.byteLength, s.to.length)
    if (over !== undefined) throw over
    const originator = this.originator(s)
    // What a peer's frame validator would refuse must be refused here, at the door, not loop in a queue.
    const long = [originator, ...s.to].find(a => a.length > MAX_ADDRESS_LENGTH)
    if (long !== undefined) throw new InvalidAddressError(clip(long, 60), `longer than ${MAX_ADDRESS_LENGTH} characters`)
    const now = this.clock.now()
    // The directory first: a recipient it does not know gets an NDR, and the rest goes on.
    const unknown = unknownRecipients(config.topology, s.to)
    const known = unknown.length === 0 ? s.to : s.to.filter(t => !unknown.some(u => u.address === t))
    const r = this.route(known)
    // Reports are the MTA's own mail, and the disk reserve is there for them.
    if (s.kind !== 'report') this.disk.assertRoom(count * (r.hops.size + r.local.length), count * r.hops.size * content.byteLength)
    const queued: Array<Omit<QueuedMessage, 'seq'>> = []
    const locals: Array<{ envelope: Envelope, mailboxes: string[] }> = []
    const envelopes: Envelope[] = []
    for (let i = 0; i < count; i++) {
      const envelope = this.envelope(s, originator, now)
      envelopes.push(envelope)
      queued.push(...this.copies(envelope, content, r, now))
      if (r.local.length > 0) locals.push({ envelope: { ...envelope, recipients: r.local.map(a => `${a}@${config.server.name}`) }, mailboxes: r.local })
    }
    let records: QueuedMessage[]
    try {
      records = await this.store.submit(queued, locals)
    } catch (err) {
      // Nothing of it was stored: the client is told, and may send it again.
      if (this.disk.writeFailed(err)) throw new DiskFullError(`the store has no room (${clip((err as Error).message)})`)
      throw err
    }
    this.enqueue(records)
    if (s.kind !== 'report') this.submitted += count
    for (const envelope of envelopes) {
      for (const u of r.unroutable) {
        await this.nonDelivery({ seq: 0, queue: '', envelope: { ...envelope, recipients: [u.recipient] }, content, transferFailures: 0, enqueuedAt: now }, 'unable-to-transfer', u.reason)
      }
      for (const u of unknown) {
        await this.nonDelivery({ seq: 0, queue: '', envelope: { ...envelope, recipients: [u.recipient] }, content, transferFailures: 0, enqueuedAt: now }, 'unable-to-transfer', `${UNRECOGNISED_OR_NAME}: ${u.reason}`)
      }
    }
    return envelopes.map(e => e.mtsId)
  }

  /** The originator's canonical address: an Internet sender as given, else a mailbox of this server. */
  private originator (s: Submission): string {
    const { config } = this
    if (s.external === true) return classifyAddress(config.topology, s.from).canonical
    const from = s.from.includes('@') ? classifyAddress(config.topology, s.from) : { kind: 'internal' as const, alias: s.from.toLowerCase(), server: config.server.name }
    if (from.kind !== 'internal' || from.server !== config.server.name) throw new InvalidAddressError(s.from, `the originator must have a mailbox on ${config.server.name}`)
    if (!isMailbox(config.topology, config.server.name, from.alias)) {
      throw new InvalidAddressError(s.from, `${from.alias} is not a mailbox of ${config.server.name} (it has ${clip(config.server.mailboxes.join(', '), 200)})`)
    }
    return `${from.alias}@${config.server.name}`
  }

  /** The limit a message breaks (its size, or its number of recipients), the same at every door. */
  private overLimit (contentBytes: number, recipients: number): MessageTooLargeError | TooManyRecipientsError | undefined {
    const { limits } = this.config
    if (contentBytes > limits.maxMessageBytes) return new MessageTooLargeError(contentBytes, limits.maxMessageBytes)
    if (recipients > limits.maxRecipients) return new TooManyRecipientsError(recipients, limits.maxRecipients)
    return undefined
  }

  private envelope (s: Submission, originator: string, now: number): Envelope {
    const { config } = this
    return {
      mtsId: formatMtsId(config.organization, config.server.name, now, this.store.nextMtsCounter()),
      originator,
      recipients: s.to.map(t => classifyAddress(config.topology, t).canonical),
      priority: s.priority ?? 'normal',
      submitTime: now,
      subject: (s.subject ?? '').slice(0, MAX_SUBJECT_LENGTH),
      kind: s.kind ?? 'message',
      trace: [{ server: config.server.name, site: config.site.name, arrived: now }],
      ...(s.format === undefined ? {} : { format: s.format })
    }
  }

  /** One queued copy per next hop, each with its own recipients. */
  private copies (envelope: Envelope, content: Uint8Array, r: Route, now: number): Array<Omit<QueuedMessage, 'seq'>> {
    return copiesByHop(envelope, r).map(c => ({ ...c, content, transferFailures: 0, enqueuedAt: now }))
  }

  /**
   * Takes a transfer from a peer: each message is checked on its own (a refused one fails none of
   * the rest); the recipients here of those it takes are delivered, the others relayed on (this
   * MTA is a bridgehead, or mail crossed a connector), all in one durable transaction before the
   * acknowledgement, which names each message's outcome.
   */
  async acceptTransfer (frame: TransferFrame, peer: string, channel: string): Promise<TransferAckFrame> {
    const { config } = this
    const results: TransferOutcome[] = []
    const refuse = (i: number, code: string, text: string, definite: boolean): void => {
      results[i] = { mtsId: frame.messages[i]!.envelope.mtsId, outcome: 'refused', code, text: clip(text === '' ? code : text, 1000), definite }
    }
    const taken: Array<{ index: number, envelope: Envelope, mailboxes: string[], onward: Array<Omit<QueuedMessage, 'seq'>> }> = []
    const now = this.clock.now()
    frame.messages.forEach(({ envelope, content }, i) => {
      const over = this.overLimit(content.byteLength, envelope.recipients.length)
      if (over !== undefined) return refuse(i, over.code, over.message, over.definite)
      if (!this.disk.intakeOpen && envelope.kind !== 'report') return refuse(i, 'XCON_ERR_DISK_FULL', 'the receiving MTA takes no new mail until it has disk space again (9411)', false)
      let routed: Route | Error
      try { routed = this.route(envelope.recipients) } catch (err) { routed = err as Error }
      const decision = acceptInbound(envelope, { server: config.server.name, site: config.site.name }, routed, now)
      if (!decision.ok) return refuse(i, decision.code, decision.text, true)
      taken.push({ index: i, envelope: decision.arrived, mailboxes: decision.route.local, onward: this.copies(decision.arrived, content, decision.route, now) })
    })
    const mail = taken.filter(t => t.envelope.kind !== 'report')
    if (mail.length > 0) {
      try {
        this.disk.assertRoom(mail.reduce((n, t) => n + t.mailboxes.length + t.onward.length, 0), mail.reduce((n, t) => n + t.onward.reduce((b, o) => b + o.content.byteLength, 0), 0))
      } catch (err) {
        if (!(err instanceof DiskFullError)) throw err
        // No room for this transfer's mail: it stays with the sender, who sends it again later.
        for (const t of mail) refuse(t.index, err.code, `the receiving MTA takes no new mail until it has disk space again (9411): ${err.message}`, false)
        taken.splice(0, taken.length, ...taken.filter(t => t.envelope.kind === 'report'))
      }
    }
    if (taken.length > 0) {
      try {
        const stored = await this.store.accept(taken)
        stored.forEach(({ duplicate, records }, k) => {
          const { index, envelope } = taken[k]!
          results[index] = { mtsId: envelope.mtsId, outcome: duplicate ? 'duplicate' : 'accepted' }
          if (duplicate) this.log.info({ category: 'X.400 Service', mtsId: envelope.mtsId, peer, channel }, `duplicate of ${envelope.mtsId} from ${peer} suppressed`)
          this.enqueue(records)
        })
      } catch (err) {
        const space = this.disk.writeFailed(err)
        if (!space) this.log.error({ err, messages: taken.length, peer }, 'could not store a transfer')
        for (const { index } of taken) {
          if (space) refuse(index, 'XCON_ERR_DISK_FULL', `the receiving MTA's store has no room (${(err as Error).message})`, false)
          else refuse(index, 'XCON_ERR_STORE_FAILED', (err as Error).message, false)
        }
      }
    }
    return { type: 'transfer_ack', seq: frame.seq, results }
  }

  /** Logs 290 and answers the originator with a report; a report is never answered with another. */
  async nonDelivery (item: QueuedMessage, reason: string, diagnostic: string): Promise<void> {
    const { envelope } = item
    this.event(nonDeliveryGenerated(envelope.mtsId, reason, diagnostic), { mtsId: envelope.mtsId, recipients: envelope.recipients, queue: item.queue || null })
    await this.store.countNdr()
    const report = nonDeliveryReport(envelope, reason, diagnostic)
    if (report === undefined) return
    try {
      // An NDR to an Internet originator leaves through the IMS like any other Internet mail.
      await this.submit({ from: 'system-attendant', to: [report.to], subject: report.subject, content: new TextEncoder().encode(report.text), kind: 'report' })
    } catch (err) {
      this.log.error({ err, mtsId: envelope.mtsId }, 'could not submit the non-delivery report')
    }
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
    return Object.keys(this.pool.getSnapshot().context.held).length + Object.keys(this.connectorPool.getSnapshot().context.held).length
  }

  /**
   * Closes down: let transfers in flight finish (what does not finish stays queued), release
   * every association, close the store, log 9299. The shell has stopped its listener first.
   */
  async stop (graceMs = 3000): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return
    this.state = 'stopping'
    for (const gate of Object.values(this.opens)) gate.clear()
    await Promise.all([...[...this.queues.values()].map(async q => await q.stop(graceMs)), this.ims?.queue.stop(graceMs)])
    this.pool.send(poolDrain())
    this.connectorPool.send(poolDrain())
    const { clock } = this
    const deadline = clock.now() + 2000
    while (this.busy() > 0 && clock.now() < deadline) await new Promise<void>(resolve => { clock.setTimeout(resolve, 20) })
    this.pool.stop()
    this.connectorPool.stop()
    await this.store.close()
    this.state = 'stopped'
    this.event(serviceStopped(this.config.server.build))
  }

  /** Ends at once, as a kill -9 does: timers and associations stop, nothing more is written. */
  halt (): void {
    this.state = 'stopped'
    for (const gate of Object.values(this.opens)) gate.clear()
    for (const q of this.queues.values()) q.halt()
    this.pool.stop()
    this.connectorPool.stop()
  }
}

/** Which pool a channel's associations take a control block from: `site`, or any connector. */
function poolKindOf (channel: string): PoolKind {
  return channel === 'site' ? 'site' : 'connector'
}
