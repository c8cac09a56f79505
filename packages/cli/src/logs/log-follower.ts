import { closeSync, existsSync, openSync, readSync, statSync } from 'node:fs'

/**
 * Follows several log files as `tail -F` does: yields complete lines as they are appended, keeps
 * reading a file that a restarted MTA appends to, and starts over when a file is truncated.
 */
export class LogFollower {
  private readonly offsets = new Map<string, number>()
  private readonly partial = new Map<string, string>()
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly files: string[], private readonly onLine: (file: string, line: string) => void, fromStart = true) {
    for (const f of files) this.offsets.set(f, fromStart || !existsSync(f) ? 0 : statSync(f).size)
  }

  /** Reads what is new in every file once. */
  poll (): void {
    for (const file of this.files) {
      if (!existsSync(file)) continue
      const size = statSync(file).size
      let offset = this.offsets.get(file) ?? 0
      if (size < offset) offset = 0
      if (size === offset) continue
      const fd = openSync(file, 'r')
      try {
        const buf = Buffer.alloc(size - offset)
        readSync(fd, buf, 0, buf.length, offset)
        this.offsets.set(file, size)
        const text = (this.partial.get(file) ?? '') + buf.toString('utf8')
        const lines = text.split('\n')
        this.partial.set(file, lines.pop() ?? '')
        for (const line of lines) if (line !== '') this.onLine(file, line)
      } finally {
        closeSync(fd)
      }
    }
  }

  follow (intervalMs = 200): void {
    this.poll()
    this.timer = setInterval(() => this.poll(), intervalMs)
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.poll()
  }
}
