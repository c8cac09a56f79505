import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { decodeFrame, MAX_FRAME_BYTES, XconError } from '@xcon/core'
import { FUZZ_SEED, fuzzCount, KNOWN_CRASHERS, payload } from '../support/fuzz-inputs.js'

describe('decodeFrame', () => {
  it('returns a frame or throws an XconError with a short message, for any bytes', () => {
    const check = (data: Buffer): void => {
      try {
        decodeFrame(data, MAX_FRAME_BYTES)
      } catch (err) {
        if (!(err instanceof XconError)) throw err
        // Messages go into close reasons and logs: bounded whatever the input.
        expect(err.message.length).toBeLessThan(300)
      }
    }
    KNOWN_CRASHERS.forEach(check)
    fc.assert(fc.property(payload, data => { check(data) }), { numRuns: fuzzCount(50_000), seed: FUZZ_SEED })
  })

  it('refuses MessagePack extensions before msgpackr builds anything from them', () => {
    // A 1 MiB BigInt extension: msgpackr would spend seconds on it.
    const big = Buffer.concat([Buffer.from([0xc9, 0x00, 0x10, 0x00, 0x00, 0x42]), Buffer.alloc(1 << 20, 0x7f)])
    expect(() => decodeFrame(big, 2 << 20)).toThrow(/extension type \(0xc9\)/)
  })
})
