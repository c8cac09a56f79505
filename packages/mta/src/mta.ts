import type { Server } from 'node:http'
import type { WebSocket, WebSocketServer } from 'ws'
import type { Actor } from 'xstate'
import {
  acceptInbound, classifyAddress, clip, closeReason, copiesByHop, nonDeliveryReport, rerouteTarget, formatMtsId, isMailbox, mtaDn, unknownRecipients, UNRECOGNISED_OR_NAME, nonDeliveryGenerated, poolDrain, poolOpen, poolRelease, queueRebuilt, route,
  serviceStarted, serviceStopped, storeCheckComplete, storeCheckStarted, DiskFullError, InvalidAddressError, MAX_ADDRESS_LENGTH, MAX_SUBJECT_LENGTH,
  MessageTooLargeError, TooManyRecipientsError,
  type Envelope, type MtaConfig, type MtaEvent, type poolMachine, type Route,
  type TransferErrorFrame, type TransferFrame, type TransferOkFrame
} from '@xcon/core'
import { listenForAssociations } from './association-listener.js'
import { createAssociationPool } from './association-pool.js'
import { systemClock, type Clock } from './clock.js'
import { DiskGuard, isSpaceError } from './disk-guard.js'
import { FloodLog } from './flood-log.js'
import { ImsListener, ImsQueue } from './ims.js'
import { InboundAdmission } from './inbound-admission.js'
import { logEvent, type Logger } from './logger.js'
import { mtaStatus, type MtaStatus } from './mta-status.js'
import { PeerQueue, type QueueHost } from './peer-queue.js'
import { onPoolEvent } from './pool-event-handler.js'
import type { MtaState, Submission } from './submission.js'
import { MtaStore, type QueuedMessage, type StoreCheck } from './store.js'
import { channelAuth } from './ws-transport.js'

/**
 * One emulated Exchange 5.5 MTA: the control-block pool and its associations, a listener for
 * inbound associations, one durable queue per other server of the site, and the mailboxes of
 * this server. Create it, `start()` it, `stop()` it; nothing here reads the environment.
 */
export class Mta {
  readonly log: Logger
  readonly store: MtaStore
  /** The intra-site pool (network type 5): the one Q260167 is about. */
  readonly pool: Actor<typeof poolMachine>
  /** The connector pool (network type 1): Site and X.400 Connector associations. */
  readonly connectorPool: Actor<typeof poolMachine>
  /** Outbound queues by key: `server:NAME` for each other server of the site, `connector:NAME` for each connector. */
  readonly queues = new Map<string, PeerQueue>()
  readonly ims: { listener: ImsListener, queue: ImsQueue } | undefined
  readonly eventCounts: Record<number, number> = {}
  readonly floods: FloodLog
  readonly disk: DiskGuard
  readonly admission: InboundAdmission
  /** What the store check found at start-up (MTACHECK after an unclean stop). */
  storeCheck: StoreCheck | undefined
  private readonly pendingInbound = new Map<string, WebSocket>()
  private http: Server | undefined
  private wss: WebSocketServer | undefined
  private inboundCount = 0
  readonly startedAt = Date.now()
  state: MtaState = 'starting'
  port: number | undefined

  constructor (readonly config: MtaConfig, deps: { log: Logger, storePath: string, clock?: Clock }) {
    this.log = deps.log
    const clock = deps.clock ?? systemClock
    this.store = new MtaStore(deps.storePath)
    this.floods = new FloodLog(this.log)
    this.disk = new DiskGuard(deps.storePath, config.limits.minFreeBytes, this.log)
    this.admission = new InboundAdmission(config.limits)
    const transportDeps = {
      floods: this.floods,
      config,
      log: this.log,
      pendingInbound: this.pendingInbound,
      acceptTransfer: async (frame: TransferFrame, peer: string, channel: string) => await this.acceptTransfer(frame, peer, channel),
      transferTimeoutMs: 30_000
    }
    this.pool = createAssociationPool('site', config, transportDeps, e => onPoolEvent(this, 'site', e))
    this.connectorPool = createAssociationPool('connector', config, transportDeps, e => onPoolEvent(this, 'connector', e))
    const poolOf = (channel: string): Actor<typeof poolMachine> => channel === 'site' ? this.pool : this.connectorPool
    const host: QueueHost = {
      config,
      log: this.log,
      store: this.store,
      clock,
      open: (target, assocId, channel) => poolOf(channel).send(poolOpen(assocId, 'outbound', target, channel)),
      release: (assocId, channel) => poolOf(channel).send(poolRelease(assocId)),
      nonDelivery: async (item, reason, diagnostic) => await this.nonDelivery(item, reason, diagnostic),
      onDown: (queue) => { this.rerouteAround(queue).catch((err: Error) => this.log.error({ err }, `rerouting around ${queue.key} failed`)) }
    }
    for (const peer of config.peers) {
      this.queues.set(`server:${peer.name}`, new PeerQueue(`server:${peer.name}`, host, { targets: [peer.name], channel: 'site', dn: mtaDn(config.organization, config.site.name, peer.name) }))
    }
    for (const c of Object.values(config.topology.connectors)) {
      if (channelAuth(config, c.name) === undefined) continue
      const far = c.sites[0] === config.site.name ? c.sites[1] : c.sites[0]
      this.queues.set(`connector:${c.name}`, new PeerQueue(`connector:${c.name}`, host, {
        targets: c.bridgeheads[far]!,
        channel: c.name,
        dn: `/o=${config.organization}/ou=${config.site.name}/cn=Configuration/cn=Connections/cn=${c.name}`
      }))
    }
    const imsSpec = config.server.ims
    this.ims = imsSpec === undefined
      ? undefined
      : {
          listener: new ImsListener(config, imsSpec, this.log, async s => await this.submit(s), () => this.disk.intakeOpen),
          queue: new ImsQueue({ config, log: this.log, store: this.store, clock, nonDelivery: async (i, r, d) => await this.nonDelivery(i, r, d) }, imsSpec.smartHost)
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

  event (e: MtaEvent, fields: Record<string, unknown> = {}): void {
    this.eventCounts[e.eventId] = (this.eventCounts[e.eventId] ?? 0) + 1
    logEvent(this.log, e, fields)
  }

  /**
   * Listens for associations (intra-site on /xcon/association, connectors on
   * /xcon/connector/NAME), reloads the durable queues, starts the IMS, and logs 9298.
   */
  async start (): Promise<void> {
    this.pool.start()
    this.connectorPool.start()
    const { server } = this.config
    await this.checkStore()
    await this.disk.start()
    const listener = await listenForAssociations(this.config, this.log, this.floods, (ws, channel, address) => this.onInbound(ws, channel, address))
    this.http = listener.http
    this.wss = listener.wss
    this.port = listener.port
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
    const smtpPort = await this.ims?.listener.listen()
    if (restored.length > 0) {
      this.log.info({ category: 'MTA Administration', queues: Object.fromEntries(restored) }, 'queues restored from the store')
    }
    this.state = 'running'
    this.event(serviceStarted(server.build), {
      port: this.port,
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

  private onInbound (ws: WebSocket, channel: string, address: string): void {
    if (this.state !== 'running') {
      ws.close(1001, 'the MTA is closing down')
      return
    }
    const busy = this.admission.refusal(address)
    if (busy !== undefined) {
      // Callers that have proved nothing hold at most half the pool (InboundAdmission).
      if (this.floods.admit('callers over the binding limit', address)) this.log.warn({ category: 'Security', address, channel }, `inbound association from ${address} refused: ${busy}`)
      ws.close(4429, closeReason(busy))
      return
    }
    const pool = channel === 'site' ? this.pool : this.connectorPool
    const assocId = `in-${++this.inboundCount}`
    this.pendingInbound.set(assocId, ws)
    this.admission.admitted(assocId, address)
    pool.send(poolOpen(assocId, 'inbound', undefined, channel))
    if (!(assocId in pool.getSnapshot().context.held)) {
      // No control block: the bind is refused, and the caller sees a failure (9156 logged by onPoolEvent).
      this.pendingInbound.delete(assocId)
      this.admission.settled(assocId)
      ws.close(4503, 'no free control blocks')
    }
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
    // Reports are the MTA's own mail, and the disk reserve is there for them.
    if (s.kind !== 'report') this.disk.assertIntake()
    let originator: string
    if (s.external === true) {
      originator = classifyAddress(config.topology, s.from).canonical
    } else {
      const from = s.from.includes('@') ? classifyAddress(config.topology, s.from) : { kind: 'internal' as const, alias: s.from.toLowerCase(), server: config.server.name }
      if (from.kind !== 'internal' || from.server !== config.server.name) throw new InvalidAddressError(s.from, `the originator must have a mailbox on ${config.server.name}`)
      if (!isMailbox(config.topology, config.server.name, from.alias)) {
        throw new InvalidAddressError(s.from, `${from.alias} is not a mailbox of ${config.server.name} (it has ${clip(config.server.mailboxes.join(', '), 200)})`)
      }
      originator = `${from.alias}@${config.server.name}`
    }
    // What a peer's frame validator would refuse must be refused here, at the door, not loop in a queue.
    const long = [originator, ...s.to].find(a => a.length > MAX_ADDRESS_LENGTH)
    if (long !== undefined) throw new InvalidAddressError(clip(long, 60), `longer than ${MAX_ADDRESS_LENGTH} characters`)
    const now = Date.now()
    // The directory first: a recipient it does not know gets an NDR, and the rest goes on.
    const unknown = unknownRecipients(config.topology, s.to)
    const known = unknown.length === 0 ? s.to : s.to.filter(t => !unknown.some(u => u.address === t))
    const r = this.route(known)
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
      if (!isSpaceError(err)) throw err
      this.disk.failed(err)
      throw new DiskFullError(`the store has no room (${clip((err as Error).message)})`)
    }
    this.enqueue(records)
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
   * Takes a transfer from a peer: its recipients here are delivered, the others relayed on (this
   * MTA is a bridgehead, or mail crossed a connector), all in one durable transaction before the
   * acknowledgement.
   */
  private async acceptTransfer (frame: TransferFrame, peer: string, channel: string): Promise<TransferOkFrame | TransferErrorFrame> {
    const { config } = this
    const { envelope } = frame
    const error = (code: string, text: string, definite: boolean): TransferErrorFrame => ({ type: 'transfer_error', seq: frame.seq, mtsId: envelope.mtsId, code, text: clip(text, 1000), definite })
    const over = this.overLimit(frame.content.byteLength, envelope.recipients.length)
    if (over !== undefined) return error(over.code, over.message, over.definite)
    if (!this.disk.intakeOpen && envelope.kind !== 'report') return error('XCON_ERR_DISK_FULL', 'the receiving MTA takes no new mail until it has disk space again (9411)', false)
    let routed: Route | Error
    try { routed = this.route(envelope.recipients) } catch (err) { routed = err as Error }
    const now = Date.now()
    const decision = acceptInbound(envelope, { server: config.server.name, site: config.site.name }, routed, now)
    if (!decision.ok) return error(decision.code, decision.text, true)
    const { arrived, route: r } = decision
    try {
      const { duplicate, records } = await this.store.accept(arrived, r.local, this.copies(arrived, frame.content, r, now))
      if (duplicate) this.log.info({ category: 'X.400 Service', mtsId: envelope.mtsId, peer, channel }, `duplicate of ${envelope.mtsId} from ${peer} suppressed`)
      this.enqueue(records)
      return { type: 'transfer_ok', seq: frame.seq, mtsId: envelope.mtsId, duplicate }
    } catch (err) {
      if (isSpaceError(err)) {
        this.disk.failed(err)
        return error('XCON_ERR_DISK_FULL', `the receiving MTA's store has no room (${(err as Error).message})`, false)
      }
      this.log.error({ err, mtsId: envelope.mtsId }, 'could not store a transfer')
      return error('XCON_ERR_STORE_FAILED', (err as Error).message, false)
    }
  }

  /** Logs 290 and answers the originator with a report; a report is never answered with another. */
  private async nonDelivery (item: QueuedMessage, reason: string, diagnostic: string): Promise<void> {
    const { envelope } = item
    this.event(nonDeliveryGenerated(envelope.mtsId, reason, diagnostic), { mtsId: envelope.mtsId, recipients: envelope.recipients, queue: item.queue || null })
    await this.store.countNdr()
    const report = nonDeliveryReport(envelope, reason, diagnostic)
    if (report === undefined) return
    try {
      await this.submit({ from: 'system-attendant', to: [report.to], subject: report.subject, content: Buffer.from(report.text), kind: 'report' })
      // An NDR to an Internet originator leaves through the IMS like any other Internet mail.
    } catch (err) {
      this.log.error({ err, mtsId: envelope.mtsId }, 'could not submit the non-delivery report')
    }
  }

  /** The `GET /status` document of this MTA. */
  status (): MtaStatus {
    return mtaStatus(this)
  }

  listDeliveries (after: number) {
    return this.store.listDeliveries(after)
  }

  /**
   * Closes down: stop accepting associations, let transfers in flight finish (what does not
   * finish stays queued), release every association, log 9299, close the store.
   */
  async stop (graceMs = 3000): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return
    this.state = 'stopping'
    this.http?.close()
    await this.ims?.listener.close()
    await Promise.all([...[...this.queues.values()].map(async q => await q.stop(graceMs)), this.ims?.queue.stop(graceMs)])
    this.pool.send(poolDrain())
    this.connectorPool.send(poolDrain())
    const busy = (): number => Object.keys(this.pool.getSnapshot().context.held).length + Object.keys(this.connectorPool.getSnapshot().context.held).length
    const deadline = Date.now() + 2000
    while (busy() > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    this.pool.stop()
    this.connectorPool.stop()
    for (const ws of this.wss?.clients ?? []) ws.terminate()
    this.disk.stop()
    this.floods.close()
    await this.store.close()
    this.state = 'stopped'
    this.event(serviceStopped(this.config.server.build))
  }
}
