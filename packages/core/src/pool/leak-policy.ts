import { FAILURE_KINDS, type FailureKind } from '../association/association.events.js'
import { nextRandom } from '../random.js'

/**
 * The leak model (docs/leak-model.md). Q260167 says only that "a large number of connection
 * failures over an extended period" loses "connection resources"; the kinds, the probability and
 * the seed are design choices, all configurable.
 */
export interface LeakPolicy {
  /** False on SP4 (2653): every control block comes back. */
  leaks: boolean
  /** Failure kinds whose control block may be kept. */
  kinds: readonly FailureKind[]
  /** Chance that one such failure keeps its control block, 0..1. */
  probability: number
}

export const ALL_FAILURE_KINDS: readonly FailureKind[] = FAILURE_KINDS
/**
 * The kinds that leak unless configured otherwise: every failure of an association between
 * servers of the site. `unauthenticated` is left out, so that whoever can reach the port but does
 * not know the secret cannot drive an MTA into 9156 (design choice; add it to leak.kinds to allow it).
 */
export const DEFAULT_LEAK_KINDS: readonly FailureKind[] = FAILURE_KINDS.filter(k => k !== 'unauthenticated')

/** Decides one failure; returns whether the block leaks and the next generator state. */
export function decideLeak (policy: LeakPolicy, outcome: FailureKind | 'released', rng: number): [leaked: boolean, rng: number] {
  if (!policy.leaks || outcome === 'released' || !policy.kinds.includes(outcome)) return [false, rng]
  const [draw, next] = nextRandom(rng)
  return [draw < policy.probability, next]
}
