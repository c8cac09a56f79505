import type { Direction, FailureKind } from '../association/association.events.js'

/** What the pool answers a request for a control block, to the requester alone. */
export type PoolAnswer =
  | { type: 'granted', controlBlock: number, free: number }
  /** No free control block: the caller logs 9156 (Q168815 prints the network type and the configured count). */
  | { type: 'exhausted', networkType: number, capacity: number }
  /** The MTA is closing down. */
  | { type: 'refused', reason: string }

/** What the pool answers the return of a control block: whether it kept it (pre-SP4, Q260167), and how it stands after. */
export interface PoolReturn {
  controlBlock: number
  leaked: boolean
  free: number
  /** Control blocks lost so far, configured blocks, and the network type: what the leak's log line prints. */
  lost: number
  capacity: number
  networkType: number
}

/**
 * Asks for a control block for an association to `peer` (inbound: not known yet). `channel` is
 * `site`, or the connector the association carries. The answer goes to `reply` only; an
 * outbound request may wait its turn first (`maxOpening`), an inbound one never does.
 */
export interface PoolRequestEvent {
  type: 'cb.request'
  assocId: string
  direction: Direction
  peer: string | undefined
  channel: string
  reply: (answer: PoolAnswer) => void
}
/** A request still waiting for its turn is not wanted any more (its queue stopped). */
export interface PoolWithdrawEvent { type: 'cb.withdraw', assocId: string }
/** The association holding the block bound: an outbound one no longer counts as opening. */
export interface PoolBoundEvent { type: 'cb.bound', assocId: string, peer: string }
/** The association holding the block ended: the pool decides whether the block comes back. */
export interface PoolReturnEvent { type: 'cb.return', assocId: string, outcome: 'released' | FailureKind, reply: (r: PoolReturn) => void }
/** Closing down: refuse new requests and those still waiting. */
export interface PoolDrainEvent { type: 'pool.drain' }
export type PoolEvent = PoolRequestEvent | PoolWithdrawEvent | PoolBoundEvent | PoolReturnEvent | PoolDrainEvent

/** The intra-site pool (network type 5, the one that leaks) or the connector pool (network type 1). */
export type PoolKind = 'site' | 'connector'

/** Which pool a channel's associations take a control block from: `site`, or any connector. */
export function poolKindOf (channel: string): PoolKind {
  return channel === 'site' ? 'site' : 'connector'
}
