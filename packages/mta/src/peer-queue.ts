import {
  AssociationLostError, afterFailedOpen, afterFailedTransfer, queueBacklogged, queueSubsided, XconError,
  type MtaConfig
} from '@xcon/core'
import type { Clock } from './clock.js'
import { logEvent, type Logger } from './logger.js'
import type { OutboundLink, TransferReply } from './outbound-link.js'
import { QueueWindow } from './queue-window.js'
import type { MtaStore, QueuedMessage } from './store.js'

/** Messages taken out of the store at once to answer with NDRs or to reroute: memory stays bounded. */
const BATCH = 500

/** What a queue asks of its MTA. */
export interface QueueHost {
  config: MtaConfig
  log: Logger
  store: MtaStore
  clock: Clock
  links: Map<string, OutboundLink>
  /** Asks the channel's pool for an outbound association to `target`. Pool events may arrive before it returns. */
  open: (target: string, assocId: string, channel: string) => void
  release: (assocId: string, channel: string) => void
  nonDelivery: (item: QueuedMessage, reason: string, diagnostic: string) => Promise<void>
  /** Called after a failed open of a connector queue, so that its mail can take another connector. */
  onDown?: (queue: PeerQueue) => void
}

/** Where a queue's associations go: the servers it may open to, in order, and over which channel. */
export interface QueueRoute {
  /** Remote servers to try, in turn (one for a server of the site or an X.400 Connector). */
  targets: string[]
  /** `site`, or the connector's name. */
  channel: string
  /** The distinguished name that events 659/660 print for this queue. */
  dn: string
}

export type QueueState = 'idle' | 'opening' | 'bound' | 'retry-wait'

/**
 * An outbound queue: one per other server of the site (Q158633) and one per connector, as the
 * Queues tab lists them. It opens an
 * association when it has mail, sends up to a window of transfers, removes a message only after
 * the peer acknowledged it, retries failed opens every open interval and answers the queue with
 * non-delivery reports after the last retry, and releases an idle association after the
 * disconnect time (Q193894: 120 s). Urgent mail goes first.
 */
export class PeerQueue {
  private readonly waiting: QueueWindow
  private readonly inFlight = new Map<number, QueuedMessage>()
  private inFlightBytes = 0
  private readonly delayed = new Map<number, { item: QueuedMessage, timer: NodeJS.Timeout }>()
  /**
   * Messages out of flight whose next place is being written (removed from the store, answered,
   * held for a retry): still in the store, so a refill of the window must not read them again.
   */
  private readonly settling = new Set<number>()
  private assocId: string | undefined
  private state: QueueState = 'idle'
  private failedOpens = 0
  private retryTimer: NodeJS.Timeout | undefined
  private nextRetryAt: number | undefined
  private idleTimer: NodeJS.Timeout | undefined
  private alarmRaised = false
  private stopped = false
  private opens = 0
  private target = 0
  lastFailure: { at: number, reason: string } | undefined
  sent = 0

  constructor (readonly key: string, private readonly host: QueueHost, readonly route: QueueRoute) {
    const held = (seq: number): boolean => this.inFlight.has(seq) || this.delayed.has(seq) || this.settling.has(seq)
    this.waiting = new QueueWindow(key, host.store, Math.max(512, 2 * host.config.transferWindow), held)
  }

  /** The server this queue opens to now. */
  get peer (): string {
    return this.route.targets[this.target]!
  }

  /** True while opens are failing: the GWART then prefers another connector. */
  get isDown (): boolean {
    return this.failedOpens > 0
  }

  get depth (): number {
    return this.waiting.length + this.inFlight.size + this.delayed.size
  }

  status () {
    return {
      peer: this.peer,
      depth: this.depth,
      inFlight: this.inFlight.size,
      state: this.state,
      failedOpens: this.failedOpens,
      nextRetryAt: this.nextRetryAt === undefined ? null : new Date(this.nextRetryAt).toISOString(),
      lastFailure: this.lastFailure === undefined ? null : { at: new Date(this.lastFailure.at).toISOString(), reason: this.lastFailure.reason },
      sent: this.sent
    }
  }

  add (items: QueuedMessage[]): void {
    this.waiting.add(items)
    this.enqueued()
  }

  /** Messages found in the store at start-up; they are read from disk as the queue reaches them. */
  restore (count: number): void {
    this.waiting.restore(count)
    this.enqueued()
  }

  private enqueued (): void {
    this.checkAlarm()
    if (this.state === 'bound') this.pump()
    else this.kick()
  }

  /** Tries to open now if there is mail, no association and no retry pending. */
  kick (): void {
    if (this.stopped || this.state !== 'idle' || this.waiting.length === 0) return
    this.state = 'opening'
    this.assocId = `out-${this.route.channel === 'site' ? this.peer : this.route.channel}-${++this.opens}`
    this.host.open(this.peer, this.assocId, this.route.channel)
  }

  /** The pool had no control block for our open (event 9156 is logged by the MTA). */
  onExhausted (assocId: string): void {
    if (assocId !== this.assocId) return
    this.assocId = undefined
    this.failedOpen('no free control blocks', true)
  }

  onBound (assocId: string): void {
    if (assocId !== this.assocId) return
    this.state = 'bound'
    this.failedOpens = 0
    this.nextRetryAt = undefined
    this.pump()
  }

  onEnded (assocId: string, wasBound: boolean, failed: boolean, reason: string): void {
    if (assocId !== this.assocId) return
    this.assocId = undefined
    this.clearIdle()
    if (!wasBound) {
      this.failedOpen(reason, false)
      return
    }
    this.state = 'idle'
    if (failed) this.lastFailure = { at: this.host.clock.now(), reason }
    this.kick()
  }

  private failedOpen (reason: string, congestion: boolean): void {
    const now = this.host.clock.now()
    this.lastFailure = { at: now, reason }
    this.failedOpens++
    // A Site Connector may reach the other site through any of its target servers: try the next.
    this.target = (this.target + 1) % this.route.targets.length
    this.host.onDown?.(this)
    const decision = afterFailedOpen(this.host.config.retry, this.failedOpens, now)
    if (decision.action === 'ndr') {
      this.failedOpens = 0
      this.state = 'idle'
      // Q230497: with no control blocks the NDR says MTS congestion; otherwise the retries ran out.
      this.ndrAll('unable-to-transfer', congestion ? 'MTS-congestion' : 'maximum-time-expired').catch(this.logFailure)
      return
    }
    this.state = 'retry-wait'
    this.nextRetryAt = decision.at
    this.retryTimer = this.host.clock.setTimeout(() => {
      this.retryTimer = undefined
      this.nextRetryAt = undefined
      this.state = 'idle'
      this.kick()
    }, decision.at - now)
  }

  private pump (): void {
    if (this.stopped || this.state !== 'bound' || this.assocId === undefined) return
    const link = this.host.links.get(this.assocId)
    if (link === undefined || !link.open) return
    this.clearIdle()
    const { transferWindow, transferWindowBytes } = this.host.config
    // The window counts messages and content bytes; one message always goes, however big.
    while (this.inFlight.size < transferWindow && (this.inFlight.size === 0 || this.inFlightBytes < transferWindowBytes)) {
      const item = this.waiting.shift()
      if (item === undefined) break
      this.inFlight.set(item.seq, item)
      this.inFlightBytes += item.content.byteLength
      link.transfer(item.envelope, item.content).then(
        async reply => { await this.onReply(item, reply) },
        (err: Error) => { this.onTransferError(item, err) }
      ).catch(this.logFailure)
    }
    if (this.depth === 0) this.startIdle()
  }

  private leaveFlight (item: QueuedMessage): void {
    if (this.inFlight.delete(item.seq)) this.inFlightBytes -= item.content.byteLength
    this.settling.add(item.seq)
  }

  private settled (item: QueuedMessage): void {
    this.settling.delete(item.seq)
  }

  private async onReply (item: QueuedMessage, reply: TransferReply): Promise<void> {
    this.leaveFlight(item)
    if (reply.type === 'transfer_ok') {
      this.sent++
      // Refill the window at once and remove the acknowledged copy behind it: if the MTA dies
      // before that removal commits, the copy is sent again and the peer suppresses it by MTS-ID.
      const removed = this.host.store.dequeue(item).finally(() => this.settled(item))
      this.checkAlarm()
      this.pump()
      await removed
      return
    } else if (reply.code === 'XCON_ERR_DISK_FULL') {
      // The peer takes no mail until it has disk again (9411 there): not this message's fault, so
      // it waits a transfer interval without using up one of its retries.
      this.retryLater(item, this.host.config.retry.transferIntervalMs)
      this.settled(item)
      return
    } else {
      try {
        if (reply.definite) await this.answer(item, 'unable-to-transfer', reply.code)
        else await this.transferFailed(item, `${reply.code}: ${reply.text}`)
      } finally {
        this.settled(item)
      }
    }
    this.checkAlarm()
    this.pump()
  }

  private onTransferError (item: QueuedMessage, err: Error): void {
    this.leaveFlight(item)
    if (err instanceof XconError && err.definite) {
      // The message itself cannot go (too large for a frame, for one): answer it, and move on.
      this.answer(item, 'unable-to-transfer', err.code).finally(() => this.settled(item)).then(() => { this.checkAlarm(); this.pump() }).catch(this.logFailure)
      return
    }
    if (err instanceof AssociationLostError) {
      // Not the message's fault: it goes back to the front for the next association. The loss
      // reaches onEnded first (these rejections come a microtask later) and found nothing waiting
      // then, so open again from here: mail in flight must not wait for the next new message.
      this.waiting.unshift(item)
      this.settled(item)
      if (this.state === 'idle') this.kick()
      else if (this.state === 'bound') this.pump()
      return
    }
    this.transferFailed(item, err.message).finally(() => this.settled(item)).then(() => this.pump()).catch(this.logFailure)
  }

  /** Store errors in background work (for example after the store closed at shutdown) are logged, never thrown. */
  private readonly logFailure = (err: Error): void => {
    this.host.log.error({ err, peer: this.peer }, `queue for ${this.peer}: ${err.message}`)
  }

  private async transferFailed (item: QueuedMessage, reason: string): Promise<void> {
    item.transferFailures++
    const now = this.host.clock.now()
    const decision = afterFailedTransfer(this.host.config.retry, item.transferFailures, now)
    if (decision.action === 'ndr') {
      await this.answer(item, 'transfer-failure', 'recipient-unavailable')
      return
    }
    this.host.log.warn({ category: 'X.400 Service', peer: this.peer, mtsId: item.envelope.mtsId, reason }, `transfer of ${item.envelope.mtsId} to ${this.peer} failed; retry ${item.transferFailures} of ${this.host.config.retry.maxTransferRetries} after the transfer interval`)
    await this.host.store.updateQueued(item)
    this.retryLater(item, decision.at - now)
  }

  /** Holds a message (in memory, still in the store) until `ms` from now, then queues it at the front. */
  private retryLater (item: QueuedMessage, ms: number): void {
    const timer = this.host.clock.setTimeout(() => {
      this.delayed.delete(item.seq)
      if (this.stopped) return
      this.waiting.unshift(item)
      this.enqueued()
    }, ms)
    this.delayed.set(item.seq, { item, timer })
  }

  /** Answers a message with a non-delivery report and removes it from the store. */
  private async answer (item: QueuedMessage, reason: string, diagnostic: string): Promise<void> {
    await this.host.nonDelivery(item, reason, diagnostic)
    await this.host.store.dequeue(item)
  }

  /** Answers every waiting message with an NDR, a batch at a time from the store. */
  private async ndrAll (reason: string, diagnostic: string): Promise<void> {
    const delayed = [...this.delayed.values()].map(d => { this.host.clock.clearTimeout(d.timer); return d.item })
    this.delayed.clear()
    for (const item of delayed) await this.answer(item, reason, diagnostic)
    await this.waiting.drainEach(BATCH, this.settling, async item => await this.answer(item, reason, diagnostic))
    this.checkAlarm()
  }

  /** 659 when the queue reaches the alarm, 660 once it falls under half of it (hysteresis, design choice). */
  private checkAlarm (): void {
    const alarm = this.host.config.server.queueAlarm
    if (alarm <= 0) return
    const dn = this.route.dn
    if (!this.alarmRaised && this.depth >= alarm) {
      this.alarmRaised = true
      logEvent(this.host.log, queueBacklogged(dn, this.depth), { peer: this.peer })
    } else if (this.alarmRaised && this.depth < alarm / 2) {
      this.alarmRaised = false
      logEvent(this.host.log, queueSubsided(dn, this.depth), { peer: this.peer })
    }
  }

  private startIdle (): void {
    if (this.idleTimer !== undefined || this.assocId === undefined) return
    const assocId = this.assocId
    this.idleTimer = this.host.clock.setTimeout(() => {
      this.idleTimer = undefined
      if (this.assocId === assocId && this.depth === 0) this.host.release(assocId, this.route.channel)
    }, this.host.config.retry.disconnectMs)
  }

  private clearIdle (): void {
    if (this.idleTimer !== undefined) this.host.clock.clearTimeout(this.idleTimer)
    this.idleTimer = undefined
  }

  /** Takes up to a batch of waiting messages (not those in flight) out of the queue, to route them elsewhere. */
  takeWaiting (): QueuedMessage[] {
    const items = this.waiting.take(BATCH)
    this.checkAlarm()
    return items
  }

  /** Stops opening and retrying; resolves once nothing is in flight (or after `graceMs`). */
  async stop (graceMs: number): Promise<void> {
    this.stopped = true
    if (this.retryTimer !== undefined) this.host.clock.clearTimeout(this.retryTimer)
    this.clearIdle()
    for (const d of this.delayed.values()) this.host.clock.clearTimeout(d.timer)
    const deadline = Date.now() + graceMs
    while (this.inFlight.size > 0 && Date.now() < deadline) await new Promise(resolve => setTimeout(resolve, 20))
  }
}
