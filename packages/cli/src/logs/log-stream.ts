import { matchesFilter, type LogFilter } from './log-filter.js'
import { formatRecord, parseLogLine, type LogRecord } from './pretty-log.js'
import { RepeatFolder } from './repeat-folder.js'

/**
 * How long a followed line waits for older lines from other sources before it is printed. MTAs
 * write each line synchronously, but the files (or containers) are read one after another and
 * polled every 200 ms; holding each line this long is what puts the merged output in time order.
 */
export const REORDER_MS = 400

interface Pending { ms: number, seq: number, raw: string }

/**
 * The one path of every log line that `xcon` shows, from files, `docker compose logs` or stdin:
 * merged in time order, filtered, then shown as JSON (every line) or readably (repeats folded).
 */
export class LogStream {
  private pending: Pending[] = []
  private seq = 0
  private readonly lastMs = new Map<string, number>()
  private readonly folder: RepeatFolder | undefined
  private timer: NodeJS.Timeout | undefined

  constructor (private readonly opts: { json: boolean, colour: boolean, filter?: LogFilter | undefined }, private readonly out: (line: string) => void) {
    this.folder = opts.json ? undefined : new RepeatFolder()
  }

  /** One raw line from `source`; a line that is not JSON takes the time of the line before it from the same source. */
  add (raw: string, source = '', now = Date.now()): void {
    const time = parseLogLine(raw)?.time
    const parsed = time === undefined ? Number.NaN : Date.parse(time)
    const ms = Number.isNaN(parsed) ? this.lastMs.get(source) ?? now : parsed
    this.lastMs.set(source, ms)
    this.pending.push({ ms, seq: this.seq++, raw })
  }

  /** Prints every line older than `now - REORDER_MS`, oldest first, and the folded runs that closed. */
  pump (now = Date.now()): void {
    this.release(now - REORDER_MS)
    this.print(this.folder?.flush(now - REORDER_MS) ?? [])
  }

  /** Prints every line held, in order, without closing the folded runs: for input already in order (stdin), or before a table. */
  flushLines (): void {
    this.release(Infinity)
  }

  /** Prints everything still held, folds included: the end of a static listing, of following, or of a site (before its closedown lines). */
  end (): void {
    this.release(Infinity)
    this.print(this.folder?.flush() ?? [])
  }

  follow (intervalMs = 100): void {
    this.timer ??= setInterval(() => this.pump(), intervalMs)
  }

  stop (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.timer = undefined
    this.end()
  }

  private release (until: number): void {
    if (this.pending.length === 0) return
    const ready = this.pending.filter(p => p.ms <= until)
    if (ready.length === 0) return
    this.pending = this.pending.filter(p => p.ms > until)
    ready.sort((a, b) => a.ms - b.ms || a.seq - b.seq)
    for (const p of ready) this.emit(p.raw)
  }

  private emit (raw: string): void {
    const r = parseLogLine(raw)
    if (!matchesFilter(this.opts.filter ?? {}, r)) return
    if (r === undefined || this.folder === undefined) {
      this.out(r === undefined || this.opts.json ? raw : formatRecord(r, this.opts.colour))
      return
    }
    this.print(this.folder.push(r))
  }

  private print (items: Array<LogRecord | string>): void {
    for (const item of items) this.out(typeof item === 'string' ? item : formatRecord(item, this.opts.colour))
  }
}
