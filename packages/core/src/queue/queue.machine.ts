import type { Clock } from '../ports.js'
import { afterFailedOpen, type RetryPolicy } from './retry-policy.js'

export interface QueueLifecycleInput {
  policy: RetryPolicy
  /** Remote servers to try in turn (a Site Connector has several; a server of the site, one). */
  targets: string[]
  /** What association ids are named after: the peer, or the connector. */
  label: string
  /** MTA time and timers. */
  clock: Clock
}

export interface QueueLifecycleContext {
  target: number
  failedOpens: number
  opens: number
  assocId: string | undefined
  nextRetryAt: number | undefined
  lastFailure: { at: number, reason: string } | undefined
  /** Whether messages wait to be sent, and whether the queue holds nothing at all (none waiting, in flight or held for a retry). */
  hasMail: boolean
  empty: boolean
  /** Why the last failed open failed for want of control blocks (9156): its NDRs then say MTS congestion (Q230497). */
  congestion: boolean
}

export type QueueLifecycleEvent =
  /** Mail began or stopped waiting, or the queue became empty or not: sent only when one of the two flips. */
  | { type: 'queue.changed', hasMail: boolean, empty: boolean }
  /** The pool had no control block for the open (9156). */
  | { type: 'queue.exhausted', assocId: string }
  | { type: 'queue.bound', assocId: string }
  | { type: 'queue.ended', assocId: string, wasBound: boolean, failed: boolean, reason: string }
  /** Every message of the queue has been answered after the last retry. */
  | { type: 'queue.drained' }
  /** Closing down: open nothing more. */
  | { type: 'queue.stop' }

/** What the queue must do: open or release an association, send, answer the queue, reroute. */
export type QueueLifecycleEmitted =
  | { type: 'open', target: string, assocId: string }
  | { type: 'release', assocId: string }
  | { type: 'pump' }
  | { type: 'down' }
  | { type: 'ndrAll', reason: string, diagnostic: string }

/** The queue states as `/status` names them. */
export type QueueStateName = 'idle' | 'opening' | 'bound' | 'retry-wait' | 'draining' | 'stopped'

/**
 * The lifecycle of one outbound queue (one per other server of the site, Q158633, and one per
 * connector):
 *
 *   idle → opening → bound (sending ⇄ quiet) → idle when its association ends
 *   opening → retry-wait → idle after a failed open, every open interval, until the first attempt
 *   and all `maxOpenRetries` retries have failed; then draining answers the queue with NDRs
 *   (144 × 600 s = 24 h at Exchange's defaults), and → idle once it is answered.
 *
 * A bound association with nothing to send is released after the disconnect time (Q193894:
 * 120 s). No I/O: the queue tells it what happened (`send`) and does what it emits, which comes
 * only after the state has changed. Hand-written rather than an XState actor: every message sent
 * alone goes through it several times, and in a simulated month it was three quarters of
 * XState's share (issue #31's profile); it is tested on a SimulatedClock at Exchange's timings.
 */
export class QueueLifecycle {
  private stateName: QueueStateName = 'idle'
  /** While bound: whether mail is being sent, or the disconnect time runs. */
  private boundState: 'sending' | 'quiet' = 'sending'
  private timer: unknown
  private readonly out: QueueLifecycleEmitted[] = []
  private depth = 0
  readonly context: QueueLifecycleContext = {
    target: 0, failedOpens: 0, opens: 0, assocId: undefined, nextRetryAt: undefined, lastFailure: undefined, hasMail: false, empty: true, congestion: false
  }

  constructor (private readonly input: QueueLifecycleInput, private readonly emit: (e: QueueLifecycleEmitted) => void) {}

  get state (): QueueStateName {
    return this.stateName
  }

  /** True once stopped: it takes no more events. */
  get done (): boolean {
    return this.stateName === 'stopped'
  }

  send (e: QueueLifecycleEvent): void {
    if (this.done) return
    this.depth++
    try {
      this.handle(e)
    } finally {
      this.depth--
    }
    this.flush()
  }

  private handle (e: QueueLifecycleEvent): void {
    const c = this.context
    if (e.type === 'queue.stop') { this.enter('stopped'); return }
    if (e.type === 'queue.changed') {
      c.hasMail = e.hasMail
      c.empty = e.empty
      if (this.stateName === 'idle') this.enter('idle')
      else if (this.stateName === 'bound') this.enterBound(this.boundState === 'sending' || !e.empty ? 'sending' : 'quiet', this.boundState === 'quiet' && e.empty)
      return
    }
    const mine = 'assocId' in e && e.assocId === c.assocId
    switch (this.stateName) {
      case 'opening':
        if (e.type === 'queue.bound' && mine) {
          c.failedOpens = 0
          c.nextRetryAt = undefined
          this.enter('bound')
        } else if ((e.type === 'queue.exhausted' && mine) || (e.type === 'queue.ended' && mine && !e.wasBound)) {
          this.failedOpen(e.type === 'queue.exhausted' ? 'no free control blocks' : e.reason, e.type === 'queue.exhausted')
        }
        break
      case 'bound':
        if (e.type === 'queue.ended' && mine) {
          c.assocId = undefined
          if (e.failed) c.lastFailure = { at: this.input.clock.now(), reason: e.reason }
          this.enter('idle')
        }
        break
      case 'draining':
        if (e.type === 'queue.drained') this.enter('idle')
        break
    }
  }

  /**
   * A failed open goes straight to its retry or, after the last one, to draining: no transient
   * state, since a stopped MTA makes one such failure per queue every open interval for days.
   */
  private failedOpen (reason: string, congestion: boolean): void {
    const c = this.context
    const now = this.input.clock.now()
    const retry = afterFailedOpen(this.input.policy, c.failedOpens + 1, now).action === 'retry'
    c.failedOpens++
    // A Site Connector may reach the other site through any of its target servers: try the next.
    c.target = (c.target + 1) % this.input.targets.length
    c.assocId = undefined
    c.congestion = congestion
    c.lastFailure = { at: now, reason }
    this.out.push({ type: 'down' })
    this.enter(retry ? 'retryWait' : 'draining')
  }

  private enter (state: QueueStateName | 'retryWait'): void {
    const c = this.context
    this.clearTimer()
    if (this.stateName === 'retry-wait') c.nextRetryAt = undefined
    this.stateName = state === 'retryWait' ? 'retry-wait' : state
    switch (state) {
      case 'idle':
        if (c.hasMail) this.enter('opening')
        break
      case 'opening':
        c.opens++
        c.assocId = `out-${this.input.label}-${c.opens}`
        this.out.push({ type: 'open', target: this.input.targets[c.target]!, assocId: c.assocId })
        break
      case 'retryWait':
        c.nextRetryAt = this.input.clock.now() + this.input.policy.openIntervalMs
        this.timer = this.input.clock.setTimeout(() => { this.timer = undefined; this.fromRetry() }, this.input.policy.openIntervalMs)
        break
      case 'draining':
        // Q230497: with no control blocks the NDR says MTS congestion; otherwise the retries ran out.
        this.out.push({ type: 'ndrAll', reason: 'unable-to-transfer', diagnostic: c.congestion ? 'MTS-congestion' : 'maximum-time-expired' })
        c.failedOpens = 0
        break
      case 'bound':
        this.enterBound('sending', false)
        this.out.push({ type: 'pump' })
        break
      case 'stopped':
        break
    }
  }

  /** The open interval ran out: idle, and open at once if mail waits. */
  private fromRetry (): void {
    if (this.stateName !== 'retry-wait') return
    this.enter('idle')
    this.flush()
  }

  /** What it emits goes out after the change, as XState's emit does; each may send it more. */
  private flush (): void {
    if (this.depth > 0) return
    while (this.out.length > 0) this.emit(this.out.shift()!)
  }

  /**
   * Bound: the queue sends while it has mail (it owns the window); with nothing to send, the
   * association is released after the disconnect time, unless mail comes first. `keepTimer`: a
   * change that leaves a quiet queue quiet does not start the disconnect time over.
   */
  private enterBound (sub: 'sending' | 'quiet', keepTimer: boolean): void {
    if (keepTimer) return
    this.clearTimer()
    this.boundState = sub === 'sending' && this.context.empty ? 'quiet' : sub
    if (this.boundState !== 'quiet') return
    this.timer = this.input.clock.setTimeout(() => {
      this.timer = undefined
      if (this.stateName !== 'bound' || this.context.assocId === undefined) return
      this.emit({ type: 'release', assocId: this.context.assocId })
    }, this.input.policy.disconnectMs)
  }

  private clearTimer (): void {
    if (this.timer === undefined) return
    this.input.clock.clearTimeout(this.timer)
    this.timer = undefined
  }

  /** Ends at once (a kill, or the MTA stopped): no timer of it fires again. */
  stop (): void {
    this.clearTimer()
    this.stateName = 'stopped'
  }
}
