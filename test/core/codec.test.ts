import { describe, expect, it } from 'vitest'
import { Packr } from 'msgpackr'
import { decodeFrame, encodeFrame, FrameTooLargeError, MalformedFrameError, type Envelope, type Frame } from '@xcon/core'

const envelope: Envelope = {
  mtsId: 'c=US;a= ;p=XCON;l=SRV-A-261128120000Z-1', originator: 'user1@SRV-A', recipients: ['user2@SRV-B'],
  priority: 'urgent', submitTime: 1_790_000_000_000, subject: 'hello', kind: 'message',
  trace: [{ server: 'SRV-A', site: 'CORP', arrived: 1_790_000_000_000 }]
}
const frames: Frame[] = [
  { type: 'challenge', v: 1, server: 'SRV-B', nonce: 'ab'.repeat(16) },
  { type: 'bind', v: 1, server: 'SRV-A', site: 'CORP', build: 2650, proof: 'cd'.repeat(32) },
  { type: 'bind_ok', server: 'SRV-B', site: 'CORP', build: 2653, proof: 'ef'.repeat(32) },
  { type: 'bind_error', code: 'XCON_ERR_SECURITY_VIOLATION', text: 'no' },
  { type: 'transfer', seq: 7, envelope, content: new Uint8Array([1, 2, 3]) },
  { type: 'transfer_ok', seq: 7, mtsId: envelope.mtsId, duplicate: false },
  { type: 'transfer_error', seq: 7, mtsId: envelope.mtsId, code: 'XCON_ERR_STORE_FAILED', text: 'disk full', definite: false }
]
const raw = new Packr({ useRecords: false })

describe('frame codec', () => {
  it.each(frames.map(f => [f.type, f] as const))('round-trips a %s frame', (_, frame) => {
    const back = decodeFrame(encodeFrame(frame), 1 << 20)
    expect(back).toEqual(frame.type === 'transfer' ? { ...frame, content: Buffer.from([1, 2, 3]) } : frame)
  })

  it('rejects bytes that are not MessagePack', () => {
    const err = catchError(() => decodeFrame(Buffer.from([0xc1]), 1024))
    expect(err).toBeInstanceOf(MalformedFrameError)
    expect(err).toMatchObject({ code: 'XCON_ERR_MALFORMED_FRAME', closeCode: 4400, definite: true })
  })

  it('rejects a value that is not a map', () => {
    expect(catchError(() => decodeFrame(raw.pack(42), 1024)).message).toBe('frame: expected a map, got number 42')
  })

  it('rejects an unknown frame type and names the known ones', () => {
    expect(catchError(() => decodeFrame(raw.pack({ type: 'hello' }), 1024)).message).toMatch(/^frame.type: expected one of challenge, bind, .* got "hello"$/)
  })

  it('names the first wrong field of a transfer', () => {
    const bad = { type: 'transfer', seq: 1, envelope: { ...envelope, recipients: ['user2@SRV-B', 7] }, content: new Uint8Array(1) }
    expect(catchError(() => decodeFrame(raw.pack(bad), 1 << 20)).message).toBe('transfer.envelope.recipients[1]: expected a non-empty string, got number 7')
  })

  it('rejects a transfer with no recipients, a bad priority, or text content', () => {
    const t = (env: Partial<Envelope>, content: unknown = new Uint8Array(1)) => catchError(() => decodeFrame(raw.pack({ type: 'transfer', seq: 1, envelope: { ...envelope, ...env }, content }), 1 << 20)).message
    expect(t({ recipients: [] })).toBe('transfer.envelope.recipients: expected at least one recipient')
    expect(t({ priority: 'high' as never })).toMatch(/^transfer.envelope.priority: expected one of urgent, normal, nonurgent/)
    expect(t({}, 'text')).toBe('transfer.content: expected binary content, got "text"')
  })

  it('rejects a frame over the size limit before decoding it', () => {
    const err = catchError(() => decodeFrame(encodeFrame(frames[4]!), 10))
    expect(err).toBeInstanceOf(FrameTooLargeError)
    expect(err).toMatchObject({ code: 'XCON_ERR_FRAME_TOO_LARGE', closeCode: 1009 })
  })
})

function catchError (fn: () => unknown): Error & Record<string, unknown> {
  try { fn() } catch (err) { return err as Error & Record<string, unknown> }
  throw new Error('expected an error')
}
