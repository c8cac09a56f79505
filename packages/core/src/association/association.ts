import type { Actor } from 'xstate'
import type { Clock } from '../ports.js'
import type { PoolKind, PoolReturn } from '../pool/pool.events.js'
import type { PoolMachine } from '../pool/pool.machine.js'
import type { Direction, FailureKind } from './association.events.js'
import { AssociationMachine, type AssociationTiming, type TransportLogic } from './association.machine.js'

/** What an association runs on, one set per pool: the pool, the transport, the clock. */
export interface AssociationPorts {
  kind: PoolKind
  pool: Actor<PoolMachine>
  transport: TransportLogic
  clock: Clock
  timing: AssociationTiming
  /** What the MTA logs and counts of every association's news (node/association-log.ts). */
  report: AssociationReport
}

export interface AssociationRequest {
  assocId: string
  direction: Direction
  peer?: string | undefined
  /** `site`, or the connector the association carries. */
  channel: string
  /** Inbound only: the connection the listener accepted. */
  socket?: unknown
}

/** How an association ended, with what the pool made of its control block. */
export interface AssociationEnd extends PoolReturn {
  assocId: string
  peer: string | undefined
  direction: Direction
  channel: string
  outcome: 'released' | FailureKind
  reason: string
  wasBound: boolean
}

/** The owner of an association (an outbound queue, or inbound acceptance) hears of it once per step. */
export interface AssociationOwner {
  /** No control block (9156) or the MTA is closing down: no association, and nothing follows. */
  notOpened: (assocId: string, why: 'exhausted' | 'refused') => void
  /** `link`: what transfers go through, from the transport (outbound only). */
  bound: (assocId: string, peer: string, link: unknown) => void
  /** Exactly once for an association that had a control block, after the pool took the block back. */
  ended: (end: AssociationEnd) => void
}

/** What the MTA logs and counts of associations, beside their owners (9156, 9215, 9318, 2035, leaks). */
export interface AssociationReport {
  exhausted: (kind: PoolKind, request: AssociationRequest, networkType: number, capacity: number) => void
  acquired: (kind: PoolKind, request: AssociationRequest, controlBlock: number, free: number) => void
  bound: (kind: PoolKind, request: AssociationRequest, peer: string, controlBlock: number) => void
  ended: (kind: PoolKind, end: AssociationEnd) => void
}

/**
 * One association and its control block, run by its owner: ask the pool for a block (the answer
 * comes back here alone), start the association machine on it, tell the pool when it binds, and
 * give the block back with its outcome when it ends. The owner hears `notOpened`, or `bound` then
 * `ended`. The machine is not a child of the pool: a pool with children paid for every spawn and
 * stop with a copy of all of them (issue #31).
 */
export class Association {
  private machine: AssociationMachine | undefined
  private peer: string | undefined
  private wasBound = false
  private state: 'new' | 'waiting' | 'running' | 'over' = 'new'

  constructor (private readonly ports: AssociationPorts, readonly request: AssociationRequest, private readonly owner: AssociationOwner) {
    this.peer = request.peer
  }

  get assocId (): string {
    return this.request.assocId
  }

  /** Whether it holds a control block and has not ended. */
  get live (): boolean {
    return this.state === 'running'
  }

  /** Asks the pool for a control block; the answer may come before this returns. */
  start (): this {
    if (this.state !== 'new') return this
    this.state = 'waiting'
    const { assocId, direction, peer, channel } = this.request
    this.ports.pool.send({ type: 'cb.request', assocId, direction, peer, channel, reply: answer => {
      if (this.state !== 'waiting') {
        // Withdrawn or halted after the pool had already granted it: the block goes straight back (a clean return never leaks).
        if (answer.type === 'granted') this.ports.pool.send({ type: 'cb.return', assocId, outcome: 'released', reply: () => undefined })
        return
      }
      if (answer.type === 'granted') {
        this.run(answer.controlBlock, answer.free)
        return
      }
      this.state = 'over'
      if (answer.type === 'exhausted') this.ports.report.exhausted(this.ports.kind, this.request, answer.networkType, answer.capacity)
      this.owner.notOpened(assocId, answer.type)
    } })
    return this
  }

  private run (controlBlock: number, free: number): void {
    const { ports, request } = this
    this.state = 'running'
    ports.report.acquired(ports.kind, request, controlBlock, free)
    const input = { assocId: request.assocId, peer: request.peer, direction: request.direction, channel: request.channel, controlBlock, timing: ports.timing, socket: request.socket }
    this.machine = new AssociationMachine(input, ports.transport, ports.clock, e => {
      if (e.type === 'assoc.bound') {
        this.wasBound = true
        this.peer = e.peer
        ports.pool.send({ type: 'cb.bound', assocId: request.assocId, peer: e.peer })
        ports.report.bound(ports.kind, request, e.peer, controlBlock)
        this.owner.bound(request.assocId, e.peer, e.link)
        return
      }
      this.state = 'over'
      ports.pool.send({ type: 'cb.return', assocId: request.assocId, outcome: e.outcome, reply: r => {
        const end: AssociationEnd = { ...r, assocId: request.assocId, peer: this.peer, direction: request.direction, channel: request.channel, outcome: e.outcome, reason: e.reason, wasBound: this.wasBound }
        ports.report.ended(ports.kind, end)
        this.owner.ended(end)
      } })
    })
    this.machine.start()
  }

  /** Releases it cleanly once bound; a request still waiting for its turn is withdrawn. */
  release (): void {
    if (this.state === 'waiting') {
      this.state = 'over'
      this.ports.pool.send({ type: 'cb.withdraw', assocId: this.assocId })
    } else if (this.state === 'running') {
      this.machine?.send({ type: 'assoc.release' })
    }
  }

  /** A newer caller needs the block of this inbound association, which has not bound: it ends as unauthenticated. */
  displace (reason: string): void {
    if (this.state === 'running') this.machine?.send({ type: 'assoc.displace', reason })
  }

  /** Ends at once, as a kill -9 does: its timers and transport stop, and nobody hears of it. */
  halt (): void {
    this.state = 'over'
    this.machine?.halt()
  }
}
