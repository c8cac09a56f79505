import type { AssociationBoundEvent, AssociationEndedEvent, Direction, FailureKind } from '../association/association.events.js'

/**
 * Asks the pool for a control block and an association to `peer` (inbound: peer not yet known).
 * `channel` is `site` for an intra-site association, or the name of the connector it carries.
 */
export interface PoolOpenEvent { type: 'pool.open'; assocId: string; peer?: string | undefined; direction: Direction; channel?: string | undefined }
/** Asks the pool to release one association cleanly. */
export interface PoolReleaseEvent { type: 'pool.release'; assocId: string }
/** A newer caller needs the block of an inbound association that has not bound: it ends as unauthenticated. */
export interface PoolDisplaceEvent { type: 'pool.displace'; assocId: string; reason: string }
/** Closing down: refuse new associations and release the bound ones. */
export interface PoolDrainEvent { type: 'pool.drain' }
export type PoolEvent = PoolOpenEvent | PoolReleaseEvent | PoolDisplaceEvent | PoolDrainEvent | AssociationBoundEvent | AssociationEndedEvent

/** What the pool tells the MTA (through `actor.on`), which turns them into log events and queue work. */
/** Every event carries `channel`: `site`, or the connector the association is for. */
export type PoolEmitted =
  | { type: 'cb.acquired'; assocId: string; peer: string | undefined; direction: Direction; channel: string; controlBlock: number; free: number }
  | { type: 'cb.exhausted'; assocId: string; peer: string | undefined; direction: Direction; channel: string; networkType: number; capacity: number }
  | { type: 'cb.refused'; assocId: string; peer: string | undefined; direction: Direction; channel: string; reason: string }
  | { type: 'assoc.bound'; assocId: string; peer: string; direction: Direction; channel: string; controlBlock: number; link?: unknown }
  | {
    type: 'assoc.ended'
    assocId: string
    peer: string | undefined
    direction: Direction
    channel: string
    controlBlock: number
    outcome: 'released' | FailureKind
    reason: string
    wasBound: boolean
    leaked: boolean
    free: number
    /** The pool after this end: control blocks lost so far, configured blocks, and its network type (for the leak's log line). */
    lost: number
    capacity: number
    networkType: number
  }

export function poolOpen (assocId: string, direction: Direction, peer?: string, channel = 'site'): PoolOpenEvent {
  return { type: 'pool.open', assocId, direction, peer, channel }
}
export function poolRelease (assocId: string): PoolReleaseEvent {
  return { type: 'pool.release', assocId }
}
export function poolDisplace (assocId: string, reason: string): PoolDisplaceEvent {
  return { type: 'pool.displace', assocId, reason }
}
export function poolDrain (): PoolDrainEvent {
  return { type: 'pool.drain' }
}
