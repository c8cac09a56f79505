/**
 * Text from the network or from a user, cut to fit a log line or an error: at most `max`
 * characters, with control characters shown as `?`, so that no input can fill a log or forge a line.
 */
export function clip (text: string, max = 120): string {
  // eslint-disable-next-line no-control-regex
  const clean = text.replace(/[\u0000-\u001f\u007f]/g, '?')
  return clean.length > max ? `${clean.slice(0, max)}…` : clean
}

/**
 * A WebSocket close reason: `ws` throws above 123 bytes of UTF-8, so cut by bytes, never in the
 * middle of a character.
 */
export function closeReason (text: string): string {
  const max = 123
  if (Buffer.byteLength(text) <= max) return text
  let out = ''
  let bytes = 0
  for (const ch of text) {
    const n = Buffer.byteLength(ch)
    if (bytes + n > max - 3) break
    out += ch
    bytes += n
  }
  return `${out}…`
}
