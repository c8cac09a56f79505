import type { Clock } from '../ports.js'

interface Timer {
  at: number
  seq: number
  fn: () => void
  /** The scope it belongs to, which may defer it (a paused MTA) or drop it (a killed one). */
  scope: ClockScope | undefined
  cancelled: boolean
}

/**
 * Simulated time for a whole site: one ordered list of timers (a binary heap by due time, then by
 * the order they were set), and nothing runs until `run` takes the next one. Two timers due at
 * the same instant fire in the order they were set, so a run is a function of its inputs.
 */
export class VirtualClock implements Clock {
  private readonly heap: Timer[] = []
  private seq = 0
  private current: number
  /** Cancelled timers still in the heap: rebuilt without them once they are half of it. */
  private cancelled = 0
  /** Timers fired so far: the simulator's unit of work. */
  fired = 0

  constructor (start: number) {
    this.current = start
  }

  now (): number {
    return this.current
  }

  setTimeout (fn: () => void, ms: number): Timer {
    return this.schedule(fn, ms, undefined)
  }

  clearTimeout (t: unknown): void {
    const timer = t as Timer | undefined | null
    if (timer === undefined || timer === null || timer.cancelled) return
    timer.cancelled = true
    // Far-future timers that are cancelled (an association's next heartbeat) would otherwise stay for good.
    if (++this.cancelled > 1024 && this.cancelled > this.heap.length / 2) this.compact()
  }

  private compact (): void {
    const live = this.heap.filter(t => !t.cancelled)
    this.heap.length = 0
    this.cancelled = 0
    for (const t of live) this.push(t)
  }

  /** @internal */
  schedule (fn: () => void, ms: number, scope: ClockScope | undefined): Timer {
    const timer: Timer = { at: this.current + Math.max(0, Number.isFinite(ms) ? ms : 0), seq: ++this.seq, fn, scope, cancelled: false }
    this.push(timer)
    return timer
  }

  /** A clock for one MTA incarnation: its timers can be paused with it, or dropped when it is killed. */
  scope (): ClockScope {
    return new ClockScope(this)
  }

  /** The due time of the next live timer, or undefined when none is left. */
  private peek (): Timer | undefined {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) { this.pop(); this.cancelled-- }
    return this.heap[0]
  }

  /**
   * Fires timers in order until the next one is due after `until` (then the clock stands at
   * `until`) or `stop()` says so. After the timers of one instant it lets the promise jobs they
   * started run to the end (`settle`), so that an awaited store write completes at the instant
   * it was made, as a write to memory does.
   */
  async run (until: number, settle: () => Promise<void>, stop: () => boolean = () => false): Promise<void> {
    while (!stop()) {
      const next = this.peek()
      if (next === undefined || next.at > until) break
      this.current = next.at
      while (true) {
        const t = this.peek()
        if (t === undefined || t.at !== this.current) break
        this.pop()
        // Fired: a later clearTimeout of it changes nothing.
        t.cancelled = true
        if (t.scope !== undefined && !t.scope.admit(t)) continue
        this.fired++
        t.fn()
      }
      await settle()
    }
    if (!stop() && until > this.current) this.current = until
  }

  private push (t: Timer): void {
    const h = this.heap
    h.push(t)
    let i = h.length - 1
    while (i > 0) {
      const p = (i - 1) >> 1
      if (!before(h[i]!, h[p]!)) break
      ;[h[i], h[p]] = [h[p]!, h[i]!]
      i = p
    }
  }

  private pop (): Timer | undefined {
    const h = this.heap
    const top = h[0]
    const last = h.pop()
    if (h.length > 0 && last !== undefined) {
      h[0] = last
      let i = 0
      while (true) {
        const l = 2 * i + 1
        const r = l + 1
        let m = i
        if (l < h.length && before(h[l]!, h[m]!)) m = l
        if (r < h.length && before(h[r]!, h[m]!)) m = r
        if (m === i) break
        ;[h[i], h[m]] = [h[m]!, h[i]!]
        i = m
      }
    }
    return top
  }
}

function before (a: Timer, b: Timer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq)
}

/**
 * The clock of one MTA incarnation. Paused (SIGSTOP), its timers that come due wait and fire, in
 * their order, when it resumes; ended (a kill, a stop), none of them fires again.
 */
export class ClockScope implements Clock {
  private paused = false
  private ended = false
  private readonly deferred: Array<() => void> = []

  constructor (private readonly clock: VirtualClock) {}

  now (): number {
    return this.clock.now()
  }

  setTimeout (fn: () => void, ms: number): unknown {
    if (this.ended) return undefined
    return this.clock.schedule(fn, ms, this)
  }

  clearTimeout (t: unknown): void {
    this.clock.clearTimeout(t)
  }

  /** @internal Whether a timer that came due may fire now; a paused scope keeps it for later. */
  admit (t: { fn: () => void }): boolean {
    if (this.ended) return false
    if (!this.paused) return true
    this.deferred.push(t.fn)
    return false
  }

  get isPaused (): boolean {
    return this.paused
  }

  pause (): void {
    this.paused = true
  }

  /** What came due while paused fires now, in order. */
  resume (): void {
    this.paused = false
    for (const fn of this.deferred.splice(0)) this.clock.schedule(fn, 0, this)
  }

  end (): void {
    this.ended = true
    this.deferred.length = 0
  }

  get isEnded (): boolean {
    return this.ended
  }
}
