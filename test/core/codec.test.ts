import { describe, expect, it } from 'vitest'
import { Packr } from 'msgpackr'
import { decodeFrame, encodeFrame, FrameTooLargeError, MalformedFrameError, type Envelope, type Frame } from '@xcon/core'

const envelope: Envelope = {
  mtsId: 'c=US;a= ;p=XCON;l=SRV-A-261128120000Z-1', originator: 'user1@SRV-A', recipients: ['user2@SRV-B'],
  priority: 'urgent', submitTime: 1_790_000_000_000, subject: 'hello', kind: 'message',
  trace: [{ server: 'SRV-A', site: 'CORP', arrived: 1_790_000_000_000 }]
}
const frames: Frame[] = [
  { type: 'challenge', v: 2, server: 'SRV-B', nonce: 'ab'.repeat(16) },
  { type: 'bind', v: 2, server: 'SRV-A', site: 'CORP', build: 2650, proof: 'cd'.repeat(32) },
  { type: 'bind_ok', server: 'SRV-B', site: 'CORP', build: 2653, proof: 'ef'.repeat(32) },
  { type: 'bind_error', code: 'XCON_ERR_SECURITY_VIOLATION', text: 'no' },
  { type: 'transfer', seq: 7, messages: [{ envelope, content: new Uint8Array([1, 2, 3]) }, { envelope: { ...envelope, mtsId: 'second' }, content: new Uint8Array([4]) }] },
  {
    type: 'transfer_ack',
    seq: 7,
    results: [
      { mtsId: envelope.mtsId, outcome: 'accepted' },
      { mtsId: 'second', outcome: 'duplicate' },
      { mtsId: 'third', outcome: 'refused', code: 'XCON_ERR_STORE_FAILED', text: 'disk full', definite: false }
    ]
  }
]
const raw = new Packr({ useRecords: false })

describe('frame codec', () => {
  it.each(frames.map(f => [f.type, f] as const))('round-trips a %s frame', (_, frame) => {
    const back = decodeFrame(encodeFrame(frame), 1 << 20)
    expect(back).toEqual(frame.type === 'transfer' ? { ...frame, messages: frame.messages.map(m => ({ ...m, content: Buffer.from(m.content) })) } : frame)
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

  it('names the first wrong field of a transfer, and the message it is in', () => {
    const good = { envelope, content: new Uint8Array(1) }
    const bad = { type: 'transfer', seq: 1, messages: [good, { envelope: { ...envelope, recipients: ['user2@SRV-B', 7] }, content: new Uint8Array(1) }] }
    expect(catchError(() => decodeFrame(raw.pack(bad), 1 << 20)).message).toBe('transfer.messages[1].envelope.recipients[1]: expected a non-empty string, got number 7')
  })

  it('rejects a transfer with no recipients, a bad priority, or text content', () => {
    const t = (env: Partial<Envelope>, content: unknown = new Uint8Array(1)) => catchError(() => decodeFrame(raw.pack({ type: 'transfer', seq: 1, messages: [{ envelope: { ...envelope, ...env }, content }] }), 1 << 20)).message
    expect(t({ recipients: [] })).toBe('transfer.messages[0].envelope.recipients: expected at least one recipient')
    expect(t({ priority: 'high' as never })).toMatch(/^transfer.messages\[0\].envelope.priority: expected one of urgent, normal, nonurgent/)
    expect(t({}, 'text')).toBe('transfer.messages[0].content: expected binary content, got "text"')
  })

  it('rejects a transfer of no messages or more than 1,024, and an outcome it does not know', () => {
    const many = Array.from({ length: 1025 }, () => ({ envelope, content: new Uint8Array(0) }))
    expect(catchError(() => decodeFrame(raw.pack({ type: 'transfer', seq: 1, messages: [] }), 1 << 20)).message).toBe('transfer.messages: expected at least one message')
    expect(catchError(() => decodeFrame(raw.pack({ type: 'transfer', seq: 1, messages: many }), 1 << 22)).message).toBe('transfer.messages: more than 1024 entries (1025)')
    const ack = { type: 'transfer_ack', seq: 1, results: [{ mtsId: 'x', outcome: 'lost' }] }
    expect(catchError(() => decodeFrame(raw.pack(ack), 1024)).message).toBe('transfer_ack.results[0].outcome: expected accepted, duplicate or refused, got "lost"')
    const refused = { type: 'transfer_ack', seq: 1, results: [{ mtsId: 'x', outcome: 'refused', code: 'X' }] }
    expect(catchError(() => decodeFrame(raw.pack(refused), 1024)).message).toBe('transfer_ack.results[0].text: expected a non-empty string, got nothing')
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
