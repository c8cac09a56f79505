import { Packr } from 'msgpackr'
import { FrameTooLargeError, MalformedFrameError } from '../errors.js'
import type { Frame } from './frames.js'
import { validateFrame } from './validate-frame.js'

/**
 * Plain, self-describing MessagePack: no shared record structures, because a structure learned
 * on one association would be unknown after the reconnects and restarts xcon exists to cause.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false })

export function encodeFrame (frame: Frame): Buffer {
  return packr.pack(frame)
}

/**
 * Decodes and validates one frame. Throws FrameTooLargeError above `limit` bytes and
 * MalformedFrameError for bytes that are not MessagePack or not a frame.
 */
export function decodeFrame (data: Uint8Array, limit: number): Frame {
  if (data.byteLength > limit) throw new FrameTooLargeError(data.byteLength, limit)
  let value: unknown
  try {
    value = packr.unpack(data)
  } catch (err) {
    throw new MalformedFrameError(`frame is not valid MessagePack (${(err as Error).message})`)
  }
  return validateFrame(value)
}
