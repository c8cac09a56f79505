import { MalformedFrameError } from '../errors.js'

/** Deepest nesting a frame needs: frame > envelope > trace > hop is four; room to spare. */
const MAX_DEPTH = 8

/**
 * Walks MessagePack bytes before anything decodes them, and throws MalformedFrameError for what
 * no xcon frame contains: extension types (msgpackr would build BigInts, Sets, Errors or
 * structured clones from them, at a cost an attacker picks), nesting deeper than MAX_DEPTH,
 * bytes after the one value, or a value cut short. It reads headers only, never payloads, so it
 * costs one pass over the structure.
 */
export function scanMsgpack (data: Uint8Array): void {
  const view = new DataView(data.buffer, data.byteOffset, data.byteLength)
  let pos = 0
  // Values still to read at each open level; one value at the top.
  const pending: number[] = [1]
  const need = (n: number): void => {
    if (pos + n > data.byteLength) throw new MalformedFrameError(`frame is not valid MessagePack (cut short at byte ${data.byteLength})`)
  }
  const skip = (n: number): void => { need(n); pos += n }
  const open = (items: number): void => {
    if (items === 0) return
    if (pending.length > MAX_DEPTH) throw new MalformedFrameError(`frame nests deeper than ${MAX_DEPTH} levels`)
    pending.push(items)
  }
  while (pending.length > 0) {
    if (pending[pending.length - 1] === 0) { pending.pop(); continue }
    pending[pending.length - 1]!--
    need(1)
    const b = data[pos++]!
    if (b <= 0x7f || b >= 0xe0 || b === 0xc0 || b === 0xc2 || b === 0xc3) continue
    if (b >= 0x80 && b <= 0x8f) { open((b & 0x0f) * 2); continue }
    if (b >= 0x90 && b <= 0x9f) { open(b & 0x0f); continue }
    if (b >= 0xa0 && b <= 0xbf) { skip(b & 0x1f); continue }
    switch (b) {
      case 0xcc: case 0xd0: skip(1); break
      case 0xcd: case 0xd1: skip(2); break
      case 0xca: case 0xce: case 0xd2: skip(4); break
      case 0xcb: case 0xcf: case 0xd3: skip(8); break
      case 0xc4: case 0xd9: need(1); skip(1 + data[pos]!); break
      case 0xc5: case 0xda: need(2); skip(2 + view.getUint16(pos)); break
      case 0xc6: case 0xdb: need(4); skip(4 + view.getUint32(pos)); break
      case 0xdc: need(2); open(view.getUint16(pos)); pos += 2; break
      case 0xdd: need(4); open(view.getUint32(pos)); pos += 4; break
      case 0xde: need(2); open(view.getUint16(pos) * 2); pos += 2; break
      case 0xdf: need(4); open(view.getUint32(pos) * 2); pos += 4; break
      default:
        // 0xc1 is never used; 0xc7-0xc9 and 0xd4-0xd8 are extensions.
        throw new MalformedFrameError(b === 0xc1 ? 'frame is not valid MessagePack (byte 0xc1)' : `frame uses a MessagePack extension type (0x${b.toString(16)}), which no xcon frame has`)
    }
  }
  if (pos !== data.byteLength) throw new MalformedFrameError(`frame is not valid MessagePack (${data.byteLength - pos} bytes after the value)`)
}
