import { Packr } from 'msgpackr'
import { FrameTooLargeError, MalformedFrameError } from '../errors.js'
import { clip } from '../clip.js'
import type { Frame } from './frames.js'
import { scanMsgpack } from './scan-msgpack.js'
import { validateFrame } from './validate-frame.js'

/**
 * Plain, self-describing MessagePack: no shared record structures, because a structure learned
 * on one association would be unknown after the reconnects and restarts xcon exists to cause.
 */
const packr = new Packr({ useRecords: false, mapsAsObjects: true, moreTypes: false, int64AsType: 'number' })

export function encodeFrame (frame: Frame): Buffer {
  return packr.pack(frame)
}

/**
 * Decodes and validates one frame. Throws FrameTooLargeError above `limit` bytes and
 * MalformedFrameError for bytes that are not MessagePack or not a frame. The bytes are scanned
 * first (no extensions, bounded nesting, nothing trailing), so msgpackr only ever sees plain data.
 */
export function decodeFrame (data: Uint8Array, limit: number): Frame {
  if (data.byteLength > limit) throw new FrameTooLargeError(data.byteLength, limit)
  scanMsgpack(data)
  let value: unknown
  try {
    value = packr.unpack(data)
  } catch (err) {
    // msgpackr's messages can quote the input; say only what went wrong.
    throw new MalformedFrameError(`frame is not valid MessagePack (${clip((err as Error).message, 80)})`)
  }
  return validateFrame(value)
}
