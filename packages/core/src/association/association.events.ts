/**
 * What an association is and tells its owner: the kinds of failure the leak model reads, and the
 * two events every association emits, `assoc.bound` at most once and `assoc.ended` exactly once.
 * In a file of their own, so that the association and the pool both depend on them and not on
 * each other.
 */

/**
 * How an association attempt or a bound association can fail. The pool decides from the kind
 * whether a pre-SP4 MTA keeps the control block (docs/leak-model.md).
 * - refused: nothing listens at the peer's address (Q170056: socket error 10061)
 * - timeout: no answer to connect, bind or heartbeat in time (a paused or black-holed peer)
 * - reset: the connection dropped without a release (the peer was killed)
 * - bind-rejected: the peer answered the bind with an error (wrong secret, no control blocks)
 * - aborted: the association broke the protocol or closed before it was released cleanly
 * - unauthenticated: an inbound caller that never proved the site secret (silence, garbage, a
 *   name the site does not have). Not a failure of the MTA's own: it leaks only where the leak
 *   policy names it, which it does not by default (docs/leak-model.md).
 */
export const FAILURE_KINDS = ['refused', 'timeout', 'reset', 'bind-rejected', 'aborted', 'unauthenticated'] as const
export type FailureKind = typeof FAILURE_KINDS[number]
export type Direction = 'outbound' | 'inbound'

/** From an association: it is bound (the peer is known now, also for inbound ones). */
export interface AssociationBoundEvent { type: 'assoc.bound'; assocId: string; peer: string; link?: unknown }
/** From an association: it is over, released cleanly or failed. */
export interface AssociationEndedEvent { type: 'assoc.ended'; assocId: string; outcome: 'released' | FailureKind; reason: string }
