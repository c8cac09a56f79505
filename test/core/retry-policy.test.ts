import { describe, expect, it } from 'vitest'
import { afterFailedOpen, afterFailedTransfer, retryPolicy, scaleSeconds } from '@xcon/core'

describe('retry policy', () => {
  it('divides the Exchange retry values by the time scale', () => {
    expect(retryPolicy(600)).toEqual({ openIntervalMs: 1000, maxOpenRetries: 144, transferIntervalMs: 200, maxTransferRetries: 2, disconnectMs: 200 })
    expect(retryPolicy(1)).toMatchObject({ openIntervalMs: 600_000, transferIntervalMs: 120_000, disconnectMs: 120_000 })
  })

  it('retries a failed open every open interval, 144 times, then reports non-delivery', () => {
    const p = retryPolicy(600)
    expect(afterFailedOpen(p, 1, 5000)).toEqual({ action: 'retry', at: 6000 })
    expect(afterFailedOpen(p, 144, 0)).toEqual({ action: 'retry', at: 1000 })
    expect(afterFailedOpen(p, 145, 0)).toEqual({ action: 'ndr' })
  })

  it('spends a day of MTA time retrying at the defaults (144 x 600 s)', () => {
    const p = retryPolicy(1)
    let t = 0
    let failures = 0
    for (;;) {
      const d = afterFailedOpen(p, ++failures, t)
      if (d.action === 'ndr') break
      t = d.at
    }
    expect(failures).toBe(145)
    expect(t).toBe(scaleSeconds(86_400, 1))
  })

  it('retries a failed transfer twice, one transfer interval apart, then reports non-delivery', () => {
    const p = retryPolicy(600)
    expect(afterFailedTransfer(p, 1, 0)).toEqual({ action: 'retry', at: 200 })
    expect(afterFailedTransfer(p, 2, 0)).toEqual({ action: 'retry', at: 200 })
    expect(afterFailedTransfer(p, 3, 0)).toEqual({ action: 'ndr' })
  })
})
