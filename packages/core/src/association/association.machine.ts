import type { Clock } from '../ports.js'
import type { AssociationBoundEvent, AssociationEndedEvent, Direction, FailureKind } from './association.events.js'

/** Real-time limits of one association (not Exchange values, so not scaled). */
export interface AssociationTiming {
  openTimeoutMs: number
  bindTimeoutMs: number
  heartbeatIntervalMs: number
  heartbeatTimeoutMs: number
  releaseTimeoutMs: number
}

export interface AssociationInput {
  assocId: string
  peer: string | undefined
  direction: Direction
  /** `site` for intra-site, else the connector's name. */
  channel: string
  controlBlock: number
  timing: AssociationTiming
  /** Inbound only: the connection the listener accepted (a WebSocket, or the simulator's), opaque here. */
  socket?: unknown
}

/** What the transport is started with. */
export interface TransportInput {
  assocId: string
  peer: string | undefined
  direction: Direction
  channel: string
  controlBlock: number
  /** Inbound only: the accepted connection, handed over with the association, not through a map. */
  socket?: unknown
}

/** Events a transport reports to its association. */
export type TransportEvent =
  | { type: 'transport.connected' }
  /** `link`: what the shell sends transfers through, opaque to core; it travels to the queue in the bound event. */
  | { type: 'transport.bound'; peer: string; link?: unknown }
  | { type: 'transport.failed'; kind: FailureKind; reason: string }
  | { type: 'transport.closed' }
  | { type: 'transport.alive' }

/** Commands an association gives its transport. */
export type TransportCommand = { type: 'transport.ping' } | { type: 'transport.release' }

/**
 * What carries an association: a WebSocket in the process, an in-memory link in the simulator.
 * Started once per association: it reports with `sendBack`, takes commands through the listener
 * it gives `receive`, and returns what to do when the association ends (close the socket).
 */
export type TransportLogic = (args: {
  input: TransportInput
  sendBack: (e: TransportEvent) => void
  receive: (listener: (cmd: TransportCommand) => void) => void
}) => (() => void) | void

/** What the owner of an association asks of it. */
export type AssociationCommand = { type: 'assoc.release' } | { type: 'assoc.displace', reason: string }

/** The states of one association, as the status document names them: opening is connecting or binding. */
export type AssociationState = 'connecting' | 'binding' | 'bound' | 'probing' | 'releasing' | 'released' | 'failed'

/**
 * One association: connect, bind, then stay bound with heartbeats until released or broken.
 *
 *   connecting → binding → bound ⇄ probing (a heartbeat sent, its answer awaited)
 *   bound/probing → releasing → released;  any state but the last two → failed
 *
 * All I/O is in the transport, which the MTA provides (a WebSocket) and tests replace (an
 * in-memory network); all waiting is on the injected clock, so a SimulatedClock drives it in
 * tests. It tells its owner `assoc.bound` at most once and `assoc.ended` exactly once.
 *
 * Hand-written, not an XState actor: it is the one thing every message sent alone and every mesh
 * probe creates and ends, and an actor of its own cost about 100 µs of each association's life
 * (issue #31's pool bench and profiles). The pool, where the leak model lives, stays XState.
 */
export class AssociationMachine {
  private state: AssociationState = 'connecting'
  private timer: unknown
  private stopTransport: (() => void) | void = undefined
  private toTransport: ((cmd: TransportCommand) => void) | undefined

  constructor (
    private readonly input: AssociationInput,
    private readonly transport: TransportLogic,
    private readonly clock: Clock,
    private readonly emit: (e: AssociationBoundEvent | AssociationEndedEvent) => void
  ) {}

  get value (): AssociationState {
    return this.state
  }

  /** Starts the transport; what it reports may arrive before this returns. */
  start (): void {
    const { input } = this
    this.wait(input.timing.openTimeoutMs, () => { this.failBind('no answer to connect within the open timeout') })
    this.stopTransport = this.transport({
      input: { assocId: input.assocId, peer: input.peer, direction: input.direction, channel: input.channel, controlBlock: input.controlBlock, socket: input.socket },
      sendBack: e => { this.onTransport(e) },
      receive: listener => { this.toTransport = listener }
    })
    // A transport that ended the association while starting had nothing to stop yet.
    if (this.over) this.stopIt()
  }

  private get over (): boolean {
    return this.state === 'released' || this.state === 'failed'
  }

  /** The one timer of the current state (a transport may answer a command before the call returns: set it first). */
  private wait (ms: number, then: () => void): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer)
    this.timer = this.over ? undefined : this.clock.setTimeout(() => { this.timer = undefined; then() }, ms)
  }

  private onTransport (e: TransportEvent): void {
    if (this.over) return
    const { timing } = this.input
    switch (e.type) {
      case 'transport.failed':
        this.end(e.kind, e.reason)
        break
      case 'transport.connected':
        if (this.state !== 'connecting') return
        this.state = 'binding'
        this.wait(timing.bindTimeoutMs, () => { this.failBind('no bind within the bind timeout') })
        break
      case 'transport.bound':
        if (this.state !== 'binding') return
        this.idle()
        this.emit({ type: 'assoc.bound', assocId: this.input.assocId, peer: e.peer, link: e.link })
        break
      case 'transport.alive':
        if (this.state === 'probing') this.idle()
        break
      case 'transport.closed':
        if (this.state === 'connecting') this.end('aborted', 'closed while connecting')
        else if (this.state === 'binding') this.end('bind-rejected', 'closed during bind')
        else this.end('released', 'released')
        break
    }
  }

  /** Bound with nothing outstanding: the next heartbeat after the interval. */
  private idle (): void {
    const { timing } = this.input
    this.state = 'bound'
    this.wait(timing.heartbeatIntervalMs, () => {
      this.state = 'probing'
      this.wait(timing.heartbeatTimeoutMs, () => { this.end('timeout', 'no heartbeat answer') })
      this.toTransport?.({ type: 'transport.ping' })
    })
  }

  /** No bind in time: for a caller of ours a timeout; for one that called us, a caller that never proved the secret. */
  private failBind (reason: string): void {
    this.end(this.input.direction === 'inbound' ? 'unauthenticated' : 'timeout', reason)
  }

  /** What its owner asks: a clean release once bound, or giving way to a newer caller before it binds. */
  send (cmd: AssociationCommand): void {
    if (cmd.type === 'assoc.release') {
      if (this.state !== 'bound' && this.state !== 'probing') return
      this.state = 'releasing'
      // Our side released cleanly; a peer too slow to confirm does not make it a failure.
      this.wait(this.input.timing.releaseTimeoutMs, () => { this.end('released', 'released') })
      this.toTransport?.({ type: 'transport.release' })
    } else if (this.input.direction === 'inbound' && (this.state === 'connecting' || this.state === 'binding')) {
      this.failBind(cmd.reason)
    }
  }

  private end (outcome: 'released' | FailureKind, reason: string): void {
    if (this.over) return
    this.state = outcome === 'released' ? 'released' : 'failed'
    this.stopIt()
    this.emit({ type: 'assoc.ended', assocId: this.input.assocId, outcome, reason })
  }

  private stopIt (): void {
    if (this.timer !== undefined) { this.clock.clearTimeout(this.timer); this.timer = undefined }
    const stop = this.stopTransport
    this.stopTransport = undefined
    this.toTransport = undefined
    if (typeof stop === 'function') stop()
  }

  /** Ends at once, as a kill -9 does: timers and transport stop, and nobody hears of it. */
  halt (): void {
    if (this.over) return
    this.state = 'failed'
    this.stopIt()
  }
}
