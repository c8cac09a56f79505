import { describe, expect, it } from 'vitest'
import { durationMs } from '@xcon/core'

describe('the one duration grammar', () => {
  it('reads milliseconds to days, and bare seconds', () => {
    expect(['500ms', '5s', '2m', '6h', '30d', '1.5', 90].map(durationMs)).toEqual([500, 5000, 120_000, 21_600_000, 2_592_000_000, 1500, 90_000])
  })

  it('refuses what is not a duration', () => {
    expect(['soon', '5x', '-1s', '', '1e3s'].map(durationMs)).toEqual([undefined, undefined, undefined, undefined, undefined])
    expect(durationMs(-1)).toBeUndefined()
    expect(durationMs(Infinity)).toBeUndefined()
  })
})
