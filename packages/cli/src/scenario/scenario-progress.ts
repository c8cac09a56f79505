import { MultiBar, Presets, type SingleBar } from 'cli-progress'

/** What one sample of the running site says, for the progress line. */
export interface ProgressSample { submitted: number, delivered: number, queued: number }

/**
 * What a scenario run shows while it runs. On a terminal: one progress line (elapsed of total,
 * delivered, queued, the current fault, stops seen), with each fault and finding printed above
 * it. Elsewhere (CI logs, a pipe): one plain line per fault and per finding, as it happens.
 */
export class ScenarioProgress {
  private readonly multi: MultiBar | undefined
  private readonly bar: SingleBar | undefined
  private readonly stopped = new Set<string>()
  private readonly exhausted = new Map<string, number>()
  private stops = 0
  private fault = 'none yet'
  private last: ProgressSample = { submitted: 0, delivered: 0, queued: 0 }

  constructor (tty: boolean, private readonly totalMs: number, private readonly line: (text: string) => void) {
    if (!tty) return
    this.multi = new MultiBar({
      format: '[{bar}] {elapsed}/{total} s {phase} | delivered {delivered}/{submitted}, queued {queued} | fault: {fault} | stops {stops}',
      barsize: 24,
      hideCursor: true,
      clearOnComplete: false,
      stream: process.stderr
    }, Presets.shades_classic)
    this.bar = this.multi.create(Math.round(totalMs / 1000), 0, this.payload('running', 0))
  }

  private payload (phase: string, ms: number): Record<string, string | number> {
    return { phase, elapsed: Math.round(ms / 1000), fault: this.fault, stops: this.stops, ...this.last }
  }

  private say (ms: number, text: string): void {
    const at = `${(ms / 1000).toFixed(1).padStart(6)} s  ${text}`
    if (this.multi !== undefined) this.multi.log(`${at}\n`)
    else this.line(at)
  }

  /** A fault step of the schedule ran. */
  faultApplied (ms: number, description: string): void {
    this.fault = description
    this.say(ms, `fault: ${description}`)
  }

  /**
   * One server's sample. The MTA counts its 9156s (`exhaustedCount`); the first of an episode is
   * a finding ("stops seen" counts them), and the episode ends when the count starts over, at a
   * restart. The checker's table says afterwards which 9156 was the stop: the first toward a
   * healthy peer.
   */
  server (ms: number, name: string, s: { state: string, exhaustedCount?: number, free?: number, capacity?: number }): void {
    if (s.state !== 'running' || s.exhaustedCount === undefined) return
    const before = this.exhausted.get(name) ?? 0
    this.exhausted.set(name, s.exhaustedCount)
    if (s.exhaustedCount < before && this.stopped.delete(name)) {
      this.say(ms, `finding: ${name} restarted, its control blocks start over (${s.free ?? '?'}/${s.capacity ?? '?'} free)`)
    } else if (s.exhaustedCount > before && !this.stopped.has(name)) {
      this.stopped.add(name)
      this.stops++
      this.say(ms, `finding: ${name} logged 9156: no free control block to open an association in its site`)
    }
  }

  /** The site-wide counts of one sample, and where the run is. */
  sample (ms: number, phase: 'running' | 'settling', counts: ProgressSample): void {
    this.last = counts
    this.bar?.update(Math.min(Math.round(ms / 1000), Math.round(this.totalMs / 1000)), this.payload(phase, ms))
  }

  /** A submission the site refused (the MTA was down, or full): shown, not a finding of the checker. */
  note (ms: number, text: string): void {
    this.say(ms, text)
  }

  stop (): void {
    this.multi?.stop()
  }
}
