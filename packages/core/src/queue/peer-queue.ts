import type { QueueStatus } from '../admin/admin-contract.js'
import { Association, type AssociationEnd, type AssociationOwner, type AssociationPorts } from '../association/association.js'
import type { MtaConfig } from '../config/mta-config.js'
import { AssociationLostError, BatchTooLargeError, DiskFullError, MalformedFrameError, XconError } from '../errors.js'
import { queueBacklogged, queueSubsided } from '../events.js'
import { logEvent } from '../log-event.js'
import { poolKindOf, type PoolKind } from '../pool/pool.events.js'
import { isTransferLink, type Clock, type LogSink, type MailStore, type QueuedMessage, type TransferLink } from '../ports.js'
import type { TransferOutcome } from '../protocol/frames.js'
import { QueueLifecycle, type QueueLifecycleEvent } from './queue.machine.js'
import { MessagePlaces } from './message-places.js'
import { QueueWindow } from './queue-window.js'
import { afterFailedTransfer } from './retry-policy.js'

/** Messages taken out of the store at once to answer with NDRs or to reroute: memory stays bounded. */
const BATCH = 500

/** What a queue asks of its MTA. */
export interface QueueHost {
  config: MtaConfig
  log: LogSink
  store: MailStore
  clock: Clock
  /** What each pool's associations run on: the queue opens its own, on its channel's pool. */
  associations: Record<PoolKind, AssociationPorts>
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

/**
 * An outbound queue: one per other server of the site (Q158633) and one per connector, as the
 * Queues tab lists them. Its lifecycle (open when there is mail, retry a failed open every open
 * interval, answer the queue with NDRs after the last retry, release an idle association after
 * the disconnect time) is the QueueLifecycle it runs. PeerQueue owns the conversation with its
 * association: it opens it when the lifecycle says, hears alone whether the pool had a block,
 * when it bound and when it ended, and releases it. It sends up to a window of messages in
 * transfers of several each, removes a message only after the peer acknowledged it, and retries
 * failed transfers; where each message is, is one record (MessagePlaces). Urgent mail goes first.
 */
export class PeerQueue implements AssociationOwner {
  private readonly waiting: QueueWindow
  /** Where each message outside the waiting window is: in flight, settling, delayed, or marked. */
  private readonly places = new MessagePlaces()
  private readonly lifecycle: QueueLifecycle
  /** The queue's association (opening, bound or releasing), which it owns: the pool answers it alone. */
  private association: Association | undefined
  /** The bound association's link, while there is one. */
  private link: TransferLink | undefined
  /** What the lifecycle was last told: whether mail waits, and whether the queue is empty. */
  private told = { hasMail: false, empty: true }
  private alarmRaised = false
  private stopped = false
  sent = 0

  constructor (readonly key: string, private readonly host: QueueHost, readonly route: QueueRoute) {
    this.waiting = new QueueWindow(key, host.store, Math.max(512, 2 * host.config.transferWindow), seq => this.places.held(seq))
    this.lifecycle = new QueueLifecycle(
      { policy: host.config.retry, targets: route.targets, label: route.channel === 'site' ? route.targets[0]! : route.channel, clock: host.clock },
      e => {
        switch (e.type) {
          case 'open': this.open(e.target, e.assocId); break
          case 'release': if (this.association?.assocId === e.assocId) this.association.release(); break
          case 'pump': this.pump(); break
          case 'down': this.host.onDown?.(this); break
          case 'ndrAll': this.ndrAll(e.reason, e.diagnostic).catch(this.logFailure).finally(() => { this.send({ type: 'queue.drained' }) }); break
        }
      })
  }

  private get context () {
    return this.lifecycle.context
  }

  private send (event: QueueLifecycleEvent): void {
    this.lifecycle.send(event)
  }

  /** Tells the lifecycle when mail starts or stops waiting, or the queue empties or fills: only on a change, so sending costs it nothing. */
  private notify (): void {
    const now = { hasMail: !this.stopped && this.waiting.length > 0, empty: this.depth === 0 }
    if (now.hasMail === this.told.hasMail && now.empty === this.told.empty) return
    this.told = now
    this.send({ type: 'queue.changed', ...now })
  }

  private get isBound (): boolean {
    return this.lifecycle.state === 'bound'
  }

  get lastFailure (): { at: number, reason: string } | undefined {
    return this.context.lastFailure
  }

  /** The server this queue opens to now. */
  get peer (): string {
    return this.route.targets[this.context.target]!
  }

  /** True while opens are failing: the GWART then prefers another route. */
  get isDown (): boolean {
    return this.context.failedOpens > 0
  }

  get depth (): number {
    return this.waiting.length + this.places.inFlight + this.places.delayed
  }

  status (): QueueStatus {
    return {
      peer: this.peer,
      depth: this.depth,
      inFlight: this.places.inFlight,
      state: this.lifecycle.state,
      failedOpens: this.context.failedOpens,
      nextRetryAt: this.context.nextRetryAt === undefined ? null : new Date(this.context.nextRetryAt).toISOString(),
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
    this.notify()
    if (this.isBound) this.pump()
  }

  /** Opens an association to `target` on this queue's channel; its news comes back to this queue alone. */
  private open (target: string, assocId: string): void {
    const ports = this.host.associations[poolKindOf(this.route.channel)]
    this.association = new Association(ports, { assocId, direction: 'outbound', peer: target, channel: this.route.channel }, this)
    this.association.start()
  }

  /** The pool had no control block for our open (9156, logged with the pool's answer), or the MTA is closing down. */
  notOpened (assocId: string): void {
    if (this.association?.assocId === assocId) this.association = undefined
    this.send({ type: 'queue.exhausted', assocId })
  }

  bound (assocId: string, _peer: string, link: unknown): void {
    if (assocId !== this.context.assocId) return
    if (!isTransferLink(link)) {
      // A bound association with nothing to send through would hold the queue: give it back, and the lifecycle retries.
      this.host.log.error({ assoc: assocId, peer: this.peer }, `association ${assocId} bound without a link; releasing it`)
      this.association?.release()
      return
    }
    this.link = link
    this.send({ type: 'queue.bound', assocId })
  }

  /**
   * The association ended, and this is the only news of it: the link drops the transfers it had
   * in flight without answering them. What was in flight on it goes back to the front of the
   * queue here, in the order it was sent, for the next association (not the message's fault, so
   * no retry is used up).
   */
  ended (end: AssociationEnd): void {
    const { assocId, wasBound } = end
    const failed = end.outcome !== 'released'
    const reason = `${end.outcome}: ${end.reason}`
    if (this.association?.assocId === assocId) this.association = undefined
    if (this.link?.assocId === assocId) this.link = undefined
    const lost = this.places.flyingOnAssociation(assocId)
    for (const item of lost.reverse()) {
      this.places.unhold(item)
      this.waiting.unshift(item)
    }
    if (lost.length > 0) this.notify()
    this.send({ type: 'queue.ended', assocId, wasBound, failed, reason })
  }

  /**
   * Sends transfers while the window has room. A transfer takes up to `transferBatch` messages or
   * `transferBatchBytes` of content, whichever comes first, of what waits now: nothing waits for a
   * batch to fill, so a message sent on an idle link goes at once, alone, and batches grow only
   * while the window is full and mail piles up behind it.
   */
  private pump (): void {
    const link = this.link
    if (this.stopped || !this.isBound || link === undefined || link.assocId !== this.context.assocId || !link.open) return
    const { transferWindow, transferWindowBytes } = this.host.config
    // The window counts messages and content bytes; one message always goes, however big.
    const places = this.places
    while (places.inFlight < transferWindow && (places.inFlight === 0 || places.inFlightBytes < transferWindowBytes)) {
      const batch = this.nextBatch(transferWindow - places.inFlight, link.assocId)
      if (batch.length === 0) break
      link.transfer(batch.map(item => ({ envelope: item.envelope, content: item.content }))).then(
        async outcomes => { await this.onOutcomes(batch, outcomes) },
        (err: Error) => { this.onTransferError(batch, err, link.assocId) }
      ).catch(this.logFailure)
    }
    this.notify()
  }

  /**
   * The next transfer's messages, in queue order: at most `room`, the batch limits, and a solo
   * message alone. Each is in flight as soon as it is taken: a refill of the window while the
   * batch is built must not read it from the store again.
   */
  private nextBatch (room: number, assocId: string): QueuedMessage[] {
    const { transferBatch, transferBatchBytes } = this.host.config
    const batch: QueuedMessage[] = []
    let bytes = 0
    while (batch.length < Math.min(room, transferBatch)) {
      const item = this.waiting.shift()
      if (item === undefined) break
      const { doomed, solo } = this.places.marks(item.seq)
      if (doomed !== undefined) {
        this.places.settle(item, ['doomed'])
        this.answer(item, 'unable-to-transfer', doomed).finally(() => this.settled(item)).then(() => this.checkAlarm()).catch(this.logFailure)
        continue
      }
      const alone = solo === true
      if (batch.length > 0 && (alone || bytes + item.content.byteLength > transferBatchBytes)) {
        this.waiting.unshift(item)
        break
      }
      batch.push(item)
      bytes += item.content.byteLength
      this.places.fly(item, assocId)
      if (alone) break
    }
    return batch
  }

  private leaveFlight (item: QueuedMessage): void {
    this.places.settle(item)
  }

  private settled (item: QueuedMessage): void {
    this.places.settled(item)
  }

  /** The peer's answer to a transfer: one outcome per message, each taken on its own. */
  private async onOutcomes (batch: QueuedMessage[], outcomes: TransferOutcome[]): Promise<void> {
    const done: QueuedMessage[] = []
    const refused: Array<{ item: QueuedMessage, outcome: TransferOutcome & { outcome: 'refused' } }> = []
    batch.forEach((item, i) => {
      this.leaveFlight(item)
      // The link checks that every message has its outcome; one missing would be a transient failure.
      const outcome = outcomes[i] ?? { mtsId: item.envelope.mtsId, outcome: 'refused', code: MalformedFrameError.CODE, text: 'no outcome for this message', definite: false }
      if (outcome.outcome === 'refused') refused.push({ item, outcome })
      else done.push(item)
    })
    this.sent += done.length
    // Refill the window at once and remove the acknowledged copies behind it, in one transaction:
    // if the MTA dies before that removal commits, they are sent again and the peer suppresses them by MTS-ID.
    const removed = done.length === 0 ? undefined : this.host.store.dequeue(done).finally(() => { for (const item of done) this.settled(item) })
    for (const { item, outcome } of refused) {
      if (outcome.code !== DiskFullError.CODE) continue
      // The peer takes no mail until it has disk again (9411 there): not this message's fault, so
      // it waits a transfer interval without using up one of its retries.
      this.retryLater(item, this.host.config.retry.transferIntervalMs)
      this.settled(item)
    }
    this.checkAlarm()
    this.pump()
    for (const { item, outcome } of refused) {
      if (outcome.code === DiskFullError.CODE) continue
      try {
        if (outcome.definite) await this.answer(item, 'unable-to-transfer', outcome.code)
        else await this.transferFailed(item, `${outcome.code}: ${outcome.text}`)
      } finally {
        this.settled(item)
      }
    }
    await removed
    if (refused.length > 0) {
      this.checkAlarm()
      this.pump()
    }
  }

  private onTransferError (batch: QueuedMessage[], err: Error, assocId: string): void {
    // What ended() returned to the queue already (the association ended first) is not in flight
    // any more: it only takes the verdict, to be applied when the queue reaches it again.
    const mine = batch.filter(item => this.places.flyingOn(item.seq, assocId))
    for (const item of batch) {
      if (mine.includes(item)) continue
      if (err instanceof BatchTooLargeError) this.places.mark(item, { solo: true })
      else if (err instanceof XconError && err.definite) this.places.mark(item, { doomed: err.code })
    }
    if (mine.length === 0) return
    for (const item of mine) this.leaveFlight(item)
    if (err instanceof XconError && err.definite) {
      // The message itself cannot go (too large for a frame, for one): answer it, and move on.
      const answered = mine.map(async item => { await this.answer(item, 'unable-to-transfer', err.code).finally(() => this.settled(item)) })
      Promise.all(answered).then(() => { this.checkAlarm(); this.pump() }).catch(this.logFailure)
      return
    }
    if (err instanceof AssociationLostError || err instanceof BatchTooLargeError) {
      // The link failed before its association ended (ended() returns the rest): the same, for
      // these. A transfer the peer refused as too large goes again one message per transfer, so
      // that only a message that is too large by itself is answered with an NDR.
      for (const item of [...mine].reverse()) {
        if (err instanceof BatchTooLargeError) this.places.mark(item, { solo: true })
        this.waiting.unshift(item)
        this.settled(item)
      }
      this.enqueued()
      return
    }
    const failed = mine.map(async item => { await this.transferFailed(item, err.message).finally(() => this.settled(item)) })
    Promise.all(failed).then(() => this.pump()).catch(this.logFailure)
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
      this.places.unhold(item)
      if (this.stopped) return
      this.waiting.unshift(item)
      this.enqueued()
    }, ms)
    this.places.delay(item, timer)
  }

  /** Answers a message with a non-delivery report and removes it from the store. */
  private async answer (item: QueuedMessage, reason: string, diagnostic: string): Promise<void> {
    await this.host.nonDelivery(item, reason, diagnostic)
    await this.host.store.dequeue([item])
  }

  /** Answers every waiting message with an NDR, a batch at a time from the store. */
  private async ndrAll (reason: string, diagnostic: string): Promise<void> {
    const delayed = this.places.takeDelayed(timer => { this.host.clock.clearTimeout(timer) })
    for (const item of delayed) await this.answer(item, reason, diagnostic)
    await this.waiting.drainEach(BATCH, this.places, async item => await this.answer(item, reason, diagnostic))
    this.checkAlarm()
    this.notify()
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

  /** Takes up to a batch of waiting messages (not those in flight) out of the queue, to route them elsewhere. */
  takeWaiting (): QueuedMessage[] {
    const items = this.waiting.take(BATCH)
    this.checkAlarm()
    this.notify()
    return items
  }

  /** Ends at once (the MTA was killed): no timer of this queue fires again. */
  halt (): void {
    this.stopped = true
    this.places.takeDelayed(timer => { this.host.clock.clearTimeout(timer) })
    this.lifecycle.stop()
    this.association?.halt()
    this.association = undefined
  }

  /** Stops opening and retrying; resolves once nothing is in flight (or after `graceMs`). */
  async stop (graceMs: number): Promise<void> {
    this.stopped = true
    this.send({ type: 'queue.stop' })
    // Delayed messages stay in the store for the next start; their timers must not fire.
    this.places.takeDelayed(timer => { this.host.clock.clearTimeout(timer) })
    const { clock } = this.host
    const deadline = clock.now() + graceMs
    while (this.places.inFlight > 0 && clock.now() < deadline) await new Promise<void>(resolve => { clock.setTimeout(resolve, 20) })
    this.association?.release()
  }

  /** Ends what a clean stop could not release in time. */
  haltAssociation (): void {
    this.association?.halt()
    this.association = undefined
  }
}
