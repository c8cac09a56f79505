import {
  ASSOCIATION_DISCONNECT_S, MAX_OPEN_RETRIES, MAX_TRANSFER_RETRIES, OPEN_INTERVAL_S, TRANSFER_INTERVAL_S, scaleSeconds
} from '../defaults.js'

/** The connection retry values of MTA Site Configuration, in real milliseconds under a time scale. */
export interface RetryPolicy {
  openIntervalMs: number
  maxOpenRetries: number
  transferIntervalMs: number
  maxTransferRetries: number
  disconnectMs: number
}

/** Exchange defaults (600 s, 144, 120 s, 2; disconnect 120 s) divided by the time scale. */
export function retryPolicy (timeScale: number): RetryPolicy {
  return {
    openIntervalMs: scaleSeconds(OPEN_INTERVAL_S, timeScale),
    maxOpenRetries: MAX_OPEN_RETRIES,
    transferIntervalMs: scaleSeconds(TRANSFER_INTERVAL_S, timeScale),
    maxTransferRetries: MAX_TRANSFER_RETRIES,
    disconnectMs: scaleSeconds(ASSOCIATION_DISCONNECT_S, timeScale)
  }
}

export type RetryDecision = { action: 'retry', at: number } | { action: 'ndr' }

/**
 * After the `failedOpens`-th consecutive failed open to a peer: retry one open interval later,
 * or, once the first attempt and all `maxOpenRetries` retries have failed, answer the queue with
 * non-delivery reports. With the defaults that is 145 attempts over 144 x 600 s = 24 h.
 */
export function afterFailedOpen (policy: RetryPolicy, failedOpens: number, now: number): RetryDecision {
  return failedOpens > policy.maxOpenRetries ? { action: 'ndr' } : { action: 'retry', at: now + policy.openIntervalMs }
}

/**
 * After a message's `failedTransfers`-th failed transfer on a bound association (the peer answered
 * with a transient error or not at all): retry one transfer interval later, or report non-delivery
 * once the first try and `maxTransferRetries` retries have failed.
 */
export function afterFailedTransfer (policy: RetryPolicy, failedTransfers: number, now: number): RetryDecision {
  return failedTransfers > policy.maxTransferRetries ? { action: 'ndr' } : { action: 'retry', at: now + policy.transferIntervalMs }
}
