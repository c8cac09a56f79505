import { XCON } from '../invocation.js'
import type { LogRecord } from './pretty-log.js'

/** How much of the repeated text a fold line quotes. */
const TEXT_SHOWN = 60

/** How long a run of identical lines is folded into one count. */
export const FOLD_WINDOW_MS = 5000

interface Run { first: LogRecord, last: LogRecord, firstMs: number, lastMs: number, repeats: number }

/** A run that closed with repeats: a line like it soon after goes on counting instead of being shown in full again. */
interface Closed { first: LogRecord, until: number }

/**
 * Folds identical lines (same server, event and text) that repeat within five seconds: the first
 * is shown, the rest become one line when the window closes, saying how many more of which text
 * (`×12 more in 4.5 s: "A resource limit…"`), and so on every five seconds while the repeats go
 * on. A single repeat is shown as itself: a fold of one says nothing a line does not. An
 * exhausted MTA logs 9156 a few times a second for every queue that retries; the JSON keeps
 * every line.
 */
export class RepeatFolder {
  private readonly runs = new Map<string, Run>()
  private readonly closed = new Map<string, Closed>()
  /** The latest time seen: a summary is never labelled later than the lines already shown. */
  private latest = -Infinity

  /** Feeds one record; returns what to print now: the record, or nothing when it is a repeat. Closed runs come first. */
  push (r: LogRecord): Array<LogRecord | string> {
    const ms = Date.parse(r.time ?? '')
    if (Number.isNaN(ms)) return [r]
    this.latest = Math.max(this.latest, ms)
    const out: Array<LogRecord | string> = this.flush(ms)
    const key = `${String(r.server)}\u0000${String(r.eventId ?? r.tag ?? '')}\u0000${String(r.msg)}`
    const run = this.runs.get(key)
    if (run !== undefined && ms - run.firstMs < FOLD_WINDOW_MS) {
      run.repeats++
      run.lastMs = ms
      run.last = r
      return out
    }
    const before = this.closed.get(key)
    this.closed.delete(key)
    if (before !== undefined && ms <= before.until) {
      this.runs.set(key, { first: before.first, last: r, firstMs: ms, lastMs: ms, repeats: 1 })
      return out
    }
    this.runs.set(key, { first: r, last: r, firstMs: ms, lastMs: ms, repeats: 0 })
    out.push(r)
    return out
  }

  /** Closes every run whose window ended by `nowMs` (Infinity: all); returns their summary lines (a single repeat: the line itself). */
  flush (nowMs = Infinity): Array<LogRecord | string> {
    const out: Run[] = []
    for (const [key, run] of this.runs) {
      if (nowMs - run.firstMs < FOLD_WINDOW_MS) continue
      this.runs.delete(key)
      if (run.repeats > 0) {
        out.push(run)
        this.closed.set(key, { first: run.first, until: run.lastMs + FOLD_WINDOW_MS })
      }
    }
    for (const [key, c] of this.closed) if (nowMs > c.until) this.closed.delete(key)
    // Labelled with the time the window closed, so that the folded output stays in time order.
    return out.map(run => ({ run, at: Math.min(run.firstMs + FOLD_WINDOW_MS, this.latest) })).sort((a, b) => a.at - b.at)
      .map(({ run, at }) => run.repeats === 1 ? run.last : summary(run, at))
  }
}

function summary (run: Run, at: number): string {
  const r = run.first
  const time = new Date(at).toISOString().slice(11, 23)
  const id = r.eventId === undefined ? String(r.tag ?? '-') : String(r.eventId)
  const span = ((run.lastMs - run.firstMs) / 1000).toFixed(1)
  const text = String(r.msg ?? '')
  const what = text.length > TEXT_SHOWN ? `${text.slice(0, TEXT_SHOWN)}…` : text
  return `${time}  ${String(r.server ?? '?').padEnd(8)} ${id.padStart(5)}  ${String(r.category ?? r.level ?? '').padEnd(18)} ×${run.repeats} more in ${span} s: "${what}" (first at ${new Date(Date.parse(r.time ?? '')).toISOString().slice(11, 23)}; ${XCON} logs --json shows each)`
}
