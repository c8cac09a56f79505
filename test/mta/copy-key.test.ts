import { createHash } from 'node:crypto'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Envelope } from '@xcon/core'
import { copyKey } from '@xcon/mta'

/** The key as stores before #14 wrote it (a Hash object fed part by part): a retransmission after an upgrade must still be known. */
function keyBefore14 (envelope: Pick<Envelope, 'mtsId' | 'recipients'>): string {
  const h = createHash('sha256').update(envelope.mtsId)
  for (const r of [...envelope.recipients].sort()) h.update('\n').update(r)
  return `${envelope.mtsId.slice(0, 200)}|${h.digest('base64url').slice(0, 22)}`
}

const asEnvelope = (e: Pick<Envelope, 'mtsId' | 'recipients'>): Envelope => e as Envelope

describe('the duplicate key of a copy', () => {
  it('is the key stores already hold', () => {
    const e = { mtsId: 'c=US;a= ;p=XCON;l=SRV-A-261203120000Z-7', recipients: ['user2@SRV-C', 'user1@SRV-B'] }
    expect(copyKey(asEnvelope(e))).toBe('c=US;a= ;p=XCON;l=SRV-A-261203120000Z-7|jhSgLMaAwRUpbC0Y5jX1B9')
  })

  it('is the same as before #14 for any MTS-ID and recipients, in any order', () => {
    fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { maxLength: 6 }), (mtsId, recipients) => {
      const e = { mtsId, recipients }
      expect(copyKey(asEnvelope(e))).toBe(keyBefore14(e))
      expect(copyKey(asEnvelope({ mtsId, recipients: [...recipients].reverse() }))).toBe(keyBefore14(e))
    }), { numRuns: 500 })
  })
})
