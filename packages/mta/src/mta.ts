import type { Registry } from 'prom-client'
import type { WebSocket } from 'ws'
import { MtaNode, SmtpQueue, TRANSFER_ACK_TIMEOUT_MS, type Clock, type MtaConfig, type MtaStatusDocument, type Submission, type SubmitMail } from '@xcon/core'
import { listenForAssociations, refuseSocket, type AssociationListener } from './association-listener.js'
import { systemClock } from './clock.js'
import { DiskGuard } from './disk-guard.js'
import { FloodLog } from './flood-log.js'
import type { ImsListener } from './ims.js'
import type { Logger } from './logger.js'
import { killPoint } from './kill-point.js'
import { MtaStore } from './store.js'
import { wsTransport } from './ws-transport.js'

/**
 * One emulated Exchange 5.5 MTA process: core's MtaNode (pools, queues, routing, the decisions)
 * plugged into the world: LMDB for the store, WebSockets for associations, the disk watcher, and
 * the IMS's SMTP. Create it, `start()` it, `stop()` it; nothing here reads the environment.
 */
export class Mta {
  readonly node: MtaNode
  readonly log: Logger
  readonly store: MtaStore
  readonly floods: FloodLog
  readonly disk: DiskGuard
  /** The MTA's submission (core's submission.ts): the admin API's `POST /submit` calls it directly. */
  readonly submitMany: SubmitMail
  private imsListener: ImsListener | undefined
  /** Made at the first scrape: prom-client is a tenth of a start-up, and most MTAs of a large site are never scraped. */
  private registry: Registry | undefined
  private listener: AssociationListener | undefined

  constructor (readonly config: MtaConfig, deps: { log: Logger, storePath: string, clock?: Clock }) {
    this.log = deps.log
    const clock = deps.clock ?? systemClock
    this.store = new MtaStore(deps.storePath, killPoint(config.killAt, this.log))
    this.floods = new FloodLog(this.log)
    this.disk = new DiskGuard(deps.storePath, config.limits.minFreeBytes, this.log)
    this.node = new MtaNode(config, {
      log: this.log,
      store: this.store,
      clock,
      intake: this.disk,
      floods: this.floods,
      pid: process.pid,
      transport: (_kind, acceptTransfer) => wsTransport({ floods: this.floods, config, log: this.log, acceptTransfer, transferTimeoutMs: TRANSFER_ACK_TIMEOUT_MS, proven: ws => this.listener?.proven(ws) })
    })
    this.submitMany = this.node.submitMany
  }

  get state () {
    return this.node.state
  }

  /**
   * Listens for associations (intra-site on /xcon/association, connectors on
   * /xcon/connector/NAME) and on SMTP, reloads the durable queues, and logs 9298.
   */
  async start (): Promise<void> {
    await this.node.start(async () => {
      await this.disk.start()
      await this.startIms()
      const listener = await listenForAssociations(this.config, this.log, this.floods, (ws, channel, address) => this.onInbound(ws, channel, address))
      this.listener = listener
      const smtpPort = await this.imsListener?.listen()
      return { port: listener.port, smtpPort }
    })
    this.store.startMaintenance(done => {
      const mb = (n: number): string => (n / 1024 / 1024).toFixed(1)
      if ('error' in done) this.log.warn({ category: 'Field Engineering', err: done.error }, `store compaction failed, the store is as it was: ${done.error.message}`)
      else this.log.info({ category: 'Field Engineering', ...done }, `store compacted while idle with every queue empty: ${mb(done.beforeBytes)} MB on disk to ${mb(done.afterBytes)} MB in ${done.ms} ms`)
    })
  }

  /** The IMS of a server that has one: its SMTP modules are loaded only then (most servers have none). */
  private async startIms (): Promise<void> {
    const { config } = this
    const imsSpec = config.server.ims
    if (imsSpec === undefined) return
    const { ImsListener, nodemailerRelay } = await import('./ims.js')
    this.imsListener = new ImsListener(config, imsSpec, this.log, async s => await this.node.submit(s), () => this.disk.intakeOpen)
    const relay = imsSpec.smartHost === undefined ? undefined : nodemailerRelay(config, imsSpec.smartHost)
    const queue = new SmtpQueue({ config, log: this.log, store: this.store, clock: this.node.clock, nonDelivery: async (i, r, d) => await this.node.nonDelivery(i, r, d) }, relay)
    this.node.ims = { listener: this.imsListener, queue }
  }

  private onInbound (ws: WebSocket, channel: string, address: string, waitedMs = 0): void {
    const refused = this.node.admitInbound(channel, address, ws, waitedMs)
    if (refused === undefined) return
    const retry = refused.retryInMs
    if (retry === undefined) { refuseSocket(ws, refused.closeCode, refused.reason); return }
    // Asked to wait for a place: no challenge yet, and nothing to do if the caller goes away meanwhile.
    const timer = setTimeout(() => {
      ws.off('close', cancel)
      if (ws.readyState === ws.OPEN) this.onInbound(ws, channel, address, waitedMs + retry)
    }, retry)
    const cancel = (): void => clearTimeout(timer)
    ws.once('close', cancel)
  }

  async submit (s: Submission): Promise<string> {
    return await this.node.submit(s)
  }


  /** The `GET /status` document of this MTA. */
  status (): MtaStatusDocument {
    return this.node.status()
  }

  async metrics (): Promise<{ contentType: string, body: string }> {
    this.registry ??= (await import('./metrics.js')).createMetrics(this.node)
    return { contentType: this.registry.contentType, body: await this.registry.metrics() }
  }

  listDeliveries (after: number) {
    return this.store.listDeliveries(after)
  }

  /**
   * Closes down: stop accepting associations and SMTP, let transfers in flight finish, release
   * every association, log 9299 (MtaNode.stop), and close what the process opened.
   */
  async stop (graceMs = 3000): Promise<void> {
    if (this.state === 'stopping' || this.state === 'stopped') return
    this.listener?.http.close()
    await this.imsListener?.close()
    await this.node.stop(graceMs)
    for (const ws of this.listener?.wss.clients ?? []) ws.terminate()
    this.disk.stop()
    this.floods.close()
  }
}
