import { WebSocketServer, type WebSocket } from 'ws'
import { createActor, type Actor } from 'xstate'
import {
  BUILDS, associationMachine, formatMtsId, freeBlocks, lostConnection, noFreeControlBlocks, nonDeliveryGenerated,
  poolDrain, poolMachine, poolOpen, poolRelease, resolveAddress, route, rpcBindFailed, serviceStarted, serviceStopped,
  socketConnectRefused, InvalidAddressError,
  type Envelope, type MtaConfig, type MtaEvent, type PoolEmitted, type Priority, type TransferErrorFrame, type TransferFrame, type TransferOkFrame
} from '@xcon/core'
import { systemClock, type Clock } from './clock.js'
import { logEvent, type Logger } from './logger.js'
import type { OutboundLink } from './outbound-link.js'
import { PeerQueue } from './peer-queue.js'
import { MtaStore, type QueuedMessage } from './store.js'
import { wsTransport } from './ws-transport.js'

/** A message as a client submits it. */
export interface Submission {
  /** Alias on this server, or alias@THIS-SERVER. */
  from: string
  to: string[]
  subject?: string
  content?: Uint8Array
  priority?: Priority
  kind?: Envelope['kind']
}

export type MtaState = 'starting' | 'running' | 'stopping' | 'stopped'

/**
 * One emulated Exchange 5.5 MTA: the control-block pool and its associations, a listener for
 * inbound associations, one durable queue per other server of the site, and the mailboxes of
 * this server. Create it, `start()` it, `stop()` it; nothing here reads the environment.
 */
export class Mta {
  readonly log: Logger
  readonly store: MtaStore
  readonly pool: Actor<typeof poolMachine>
  readonly queues = new Map<string, PeerQueue>()
  readonly eventCounts: Record<number, number> = {}
  private readonly links = new Map<string, OutboundLink>()
  private readonly pendingInbound = new Map<string, WebSocket>()
  private wss: WebSocketServer | undefined
  private inboundCount = 0
  private readonly startedAt = Date.now()
  state: MtaState = 'starting'
  port: number | undefined

  constructor (readonly config: MtaConfig, deps: { log: Logger, storePath: string, clock?: Clock }) {
    this.log = deps.log
    const clock = deps.clock ?? systemClock
    this.store = new MtaStore(deps.storePath)
    const transport = wsTransport({
      config,
      log: this.log,
      links: this.links,
      pendingInbound: this.pendingInbound,
      acceptTransfer: async (frame, peer) => await this.acceptTransfer(frame, peer),
      transferTimeoutMs: 30_000
    })
    const machine = poolMachine.provide({ actors: { association: associationMachine.provide({ actors: { transport } }) } })
    this.pool = createActor(machine, {
      input: {
        capacity: config.server.controlBlocks,
        networkType: config.networkType,
        leakPolicy: config.leakPolicy,
        seed: config.leakSeed,
        timing: config.timing
      }
    })
    this.pool.on('*', (e) => this.onPoolEvent(e))
    for (const peer of config.peers) {
      this.queues.set(peer.name, new PeerQueue(peer.name, {
        config,
        log: this.log,
        store: this.store,
        clock,
        links: this.links,
        open: (p, assocId) => this.pool.send(poolOpen(assocId, 'outbound', p)),
        release: (assocId) => this.pool.send(poolRelease(assocId)),
        nonDelivery: async (item, reason, diagnostic) => await this.nonDelivery(item, reason, diagnostic)
      }))
    }
  }

  event (e: MtaEvent, fields: Record<string, unknown> = {}): void {
    this.eventCounts[e.eventId] = (this.eventCounts[e.eventId] ?? 0) + 1
    logEvent(this.log, e, fields)
  }

  /** Listens for associations, reloads the durable queues, and logs 9298. */
  async start (): Promise<void> {
    this.pool.start()
    const { server } = this.config
    const wss = new WebSocketServer({
      host: listenHost(server.host),
      port: server.port ?? 0,
      path: '/xcon/association',
      maxPayload: this.config.maxFrameBytes,
      perMessageDeflate: false
    })
    this.wss = wss
    await new Promise<void>((resolve, reject) => {
      wss.once('listening', resolve)
      wss.once('error', reject)
    })
    wss.on('error', (err) => this.log.error({ err }, 'association listener error'))
    this.port = (wss.address() as { port: number }).port
    wss.on('connection', (ws) => this.onInbound(ws))
    const restored = this.store.loadQueues()
    for (const [peer, items] of restored) {
      const queue = this.queues.get(peer)
      if (queue === undefined) {
        this.log.warn({ category: 'Configuration', peer, depth: items.length }, `${items.length} queued messages for ${peer}, which is no longer in site ${this.config.site.name}, stay in the store`)
        continue
      }
      queue.add(items)
    }
    if (restored.size > 0) {
      this.log.info({ category: 'MTA Administration', queues: Object.fromEntries([...restored].map(([p, i]) => [p, i.length])) }, 'queues restored from the store')
    }
    this.state = 'running'
    this.event(serviceStarted(server.build), {
      port: this.port,
      controlBlocks: server.controlBlocks,
      timeScale: server.timeScale,
      leak: this.config.leakPolicy.leaks ? { kinds: this.config.leakPolicy.kinds, probability: this.config.leakPolicy.probability, seed: this.config.leakSeed } : false
    })
  }

  private onInbound (ws: WebSocket): void {
    if (this.state !== 'running') {
      ws.close(1001, 'the MTA is closing down')
      return
    }
    const assocId = `in-${++this.inboundCount}`
    this.pendingInbound.set(assocId, ws)
    this.pool.send(poolOpen(assocId, 'inbound'))
    if (!(assocId in this.pool.getSnapshot().context.held)) {
      // No control block: the bind is refused, and the caller sees a failure (9156 logged by onPoolEvent).
      this.pendingInbound.delete(assocId)
      ws.close(4503, 'no free control blocks')
    }
  }

  private onPoolEvent (e: PoolEmitted): void {
    const { config } = this
    const queue = e.peer === undefined ? undefined : this.queues.get(e.peer)
    switch (e.type) {
      case 'cb.exhausted':
        this.event(noFreeControlBlocks(e.networkType, e.capacity), { peer: e.peer ?? null, direction: e.direction, assoc: e.assocId })
        if (e.direction === 'outbound') queue?.onExhausted(e.assocId)
        break
      case 'cb.refused':
        if (e.direction === 'outbound') queue?.onExhausted(e.assocId)
        break
      case 'cb.acquired':
        this.log.debug({ category: 'Resource', assoc: e.assocId, peer: e.peer, direction: e.direction, controlBlock: e.controlBlock, free: e.free }, `control block ${e.controlBlock} acquired`)
        break
      case 'assoc.bound':
        this.log.info({ category: 'Interface', assoc: e.assocId, peer: e.peer, direction: e.direction, controlBlock: e.controlBlock }, `${e.direction} association with ${e.peer} bound`)
        if (e.direction === 'outbound') queue?.onBound(e.assocId)
        break
      case 'assoc.ended': {
        const failed = e.outcome !== 'released'
        const peer = e.peer ?? 'an unknown MTA'
        if (failed && e.direction === 'outbound' && !e.wasBound) {
          // 9215 is socket error 10061, a refused connect(); a name that no longer resolves is only 9318.
          if (e.reason.includes('ECONNREFUSED')) this.event(socketConnectRefused(e.controlBlock), { peer, assoc: e.assocId })
          this.event(rpcBindFailed(e.controlBlock, peer, `${e.outcome}: ${e.reason}`), { peer, assoc: e.assocId, outcome: e.outcome })
        } else if (failed && e.wasBound) {
          this.event(lostConnection(e.controlBlock, peer, `${e.outcome}: ${e.reason}`), { peer, assoc: e.assocId, direction: e.direction, outcome: e.outcome })
        } else {
          this.log.info({ category: 'Interface', assoc: e.assocId, peer, direction: e.direction, outcome: e.outcome, reason: e.reason }, `${e.direction} association with ${peer} ${failed ? `failed (${e.outcome}: ${e.reason})` : 'released'}`)
        }
        if (e.leaked) {
          const ctx = this.pool.getSnapshot().context
          this.log.warn(
            { category: 'Resource', controlBlock: e.controlBlock, peer, direction: e.direction, outcome: e.outcome, free: e.free, leaked: ctx.leaked.length, capacity: ctx.capacity },
            `control block ${e.controlBlock} (network type ${config.networkType}) was not returned after the failed ${e.direction} association with ${peer} (${e.outcome}); ${e.free} of ${ctx.capacity} free, ${ctx.leaked.length} lost`
          )
        }
        if (e.direction === 'outbound') queue?.onEnded(e.assocId, e.wasBound, failed, `${e.outcome}: ${e.reason}`)
        break
      }
    }
  }

  /** Accepts mail from a client: durably queued or delivered before the MTS-ID is returned. */
  async submit (s: Submission): Promise<string> {
    const { config } = this
    const alias = s.from.includes('@') ? resolveAddress(config.topology, s.from) : { alias: s.from.toLowerCase(), server: config.server.name }
    if (alias.server !== config.server.name) throw new InvalidAddressError(s.from, `the originator must have a mailbox on ${config.server.name}`)
    const now = Date.now()
    const r = route(config.topology, config.server.name, s.to)
    const envelope: Envelope = {
      mtsId: formatMtsId(config.organization, config.server.name, now, this.store.nextMtsCounter()),
      originator: `${alias.alias}@${config.server.name}`,
      recipients: s.to.map(t => { const a = resolveAddress(config.topology, t); return `${a.alias}@${a.server}` }),
      priority: s.priority ?? 'normal',
      submitTime: now,
      subject: s.subject ?? '',
      kind: s.kind ?? 'message',
      trace: [{ server: config.server.name, site: config.site.name, arrived: now }]
    }
    const content = s.content ?? new Uint8Array(0)
    const queued = [...r.intraSite].map(([peer, recipients]) => ({ peer, envelope: { ...envelope, recipients }, content, transferFailures: 0, enqueuedAt: now }))
    const local = r.local.length > 0 ? { envelope: { ...envelope, recipients: r.local }, mailboxes: r.local.map(a => a.split('@')[0]!) } : undefined
    const records = await this.store.submit(queued, local)
    for (const record of records) this.queues.get(record.peer)!.add([record])
    for (const u of r.unroutable) {
      await this.nonDelivery({ seq: 0, peer: '', envelope: { ...envelope, recipients: [u.recipient] }, content, transferFailures: 0, enqueuedAt: now }, 'unable-to-transfer', 'no-route')
    }
    return envelope.mtsId
  }

  private async acceptTransfer (frame: TransferFrame, peer: string): Promise<TransferOkFrame | TransferErrorFrame> {
    const { config } = this
    const { envelope } = frame
    const error = (code: string, text: string, definite: boolean): TransferErrorFrame => ({ type: 'transfer_error', seq: frame.seq, mtsId: envelope.mtsId, code, text, definite })
    const mailboxes: string[] = []
    for (const r of envelope.recipients) {
      let server: string
      try { server = resolveAddress(config.topology, r).server } catch (err) { return error('XCON_ERR_INVALID_ADDRESS', (err as Error).message, true) }
      if (server !== config.server.name) return error('XCON_ERR_INVALID_ADDRESS', `${r} has no mailbox on ${config.server.name} (sent by ${peer})`, true)
      mailboxes.push(r.split('@')[0]!.toLowerCase())
    }
    const arrived = { ...envelope, trace: [...envelope.trace, { server: config.server.name, site: config.site.name, arrived: Date.now() }] }
    try {
      const { duplicate } = await this.store.accept(arrived, mailboxes)
      if (duplicate) this.log.info({ category: 'X.400 Service', mtsId: envelope.mtsId, peer }, `duplicate of ${envelope.mtsId} from ${peer} suppressed`)
      return { type: 'transfer_ok', seq: frame.seq, mtsId: envelope.mtsId, duplicate }
    } catch (err) {
      this.log.error({ err, mtsId: envelope.mtsId }, 'could not store a transfer')
      return error('XCON_ERR_STORE_FAILED', (err as Error).message, false)
    }
  }

  /** Logs 290 and answers the originator with a report; a report is never answered with another. */
  private async nonDelivery (item: QueuedMessage, reason: string, diagnostic: string): Promise<void> {
    const { envelope } = item
    this.event(nonDeliveryGenerated(envelope.mtsId, reason, diagnostic), { mtsId: envelope.mtsId, recipients: envelope.recipients, peer: item.peer || null })
    await this.store.countNdr()
    if (envelope.kind === 'report') return
    const text = `Your message\n\n  Subject: ${envelope.subject}\n  Sent: ${new Date(envelope.submitTime).toISOString()}\n\ndid not reach the following recipient(s):\n\n${envelope.recipients.map(r => `  ${r} (reason ${reason}, diagnostic ${diagnostic}, MTS-ID ${envelope.mtsId})`).join('\n')}\n`
    try {
      await this.submit({ from: 'system-attendant', to: [envelope.originator], subject: `Undeliverable: ${envelope.subject}`, content: Buffer.from(text), kind: 'report' })
    } catch (err) {
      this.log.error({ err, mtsId: envelope.mtsId }, 'could not submit the non-delivery report')
    }
  }

  /** The `GET /status` document of this MTA. */
  status () {
    const ctx = this.pool.getSnapshot().context
    const held = Object.values(ctx.held)
    const byKind: Record<string, number> = {}
    for (const b of ctx.leaked) byKind[b.kind] = (byKind[b.kind] ?? 0) + 1
    return {
      name: this.config.server.name,
      site: this.config.site.name,
      build: this.config.server.build,
      servicePack: BUILDS[this.config.server.build].name,
      state: this.state,
      pid: process.pid,
      port: this.port ?? null,
      uptimeSeconds: Math.round((Date.now() - this.startedAt) / 1000),
      timeScale: this.config.server.timeScale,
      controlBlocks: {
        capacity: ctx.capacity,
        free: freeBlocks(ctx),
        inUse: held.length,
        leaked: ctx.leaked.length,
        listening: 1,
        networkType: ctx.networkType,
        leakedByKind: byKind,
        exhaustedCount: ctx.counts.exhausted
      },
      associations: held.map(b => ({ id: b.assocId, peer: b.peer ?? null, direction: b.direction, state: b.state, controlBlock: b.index })),
      queues: [...this.queues.values()].map(q => q.status()),
      delivered: this.store.counters.delivered,
      duplicatesSuppressed: this.store.counters.duplicatesSuppressed,
      ndrs: this.store.counters.ndrs,
      events: { ...this.eventCounts }
    }
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
    this.wss?.close()
    await Promise.all([...this.queues.values()].map(async q => await q.stop(graceMs)))
    this.pool.send(poolDrain())
    const deadline = Date.now() + 2000
    while (Object.keys(this.pool.getSnapshot().context.held).length > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
    this.pool.stop()
    for (const ws of this.wss?.clients ?? []) ws.terminate()
    await this.store.close()
    this.state = 'stopped'
    this.event(serviceStopped(this.config.server.build))
  }
}

/** Listen on the address peers use if it is a loopback or literal IP; on every interface otherwise (containers). */
function listenHost (host: string): string {
  return /^[\d.]+$/.test(host) || host === '::1' || host === 'localhost' ? host : '0.0.0.0'
}
