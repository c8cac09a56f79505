import { CliError } from './cli-error.js'
import { sleep } from './durations.js'

/** One delivery as GET /deliveries lists it. */
export interface DeliveryRecord {
  seq: number
  mailbox: string
  mtsId: string
  originator: string
  subject: string
  kind: string
  submitted: number
  at: number
  hops: string[]
}

/** Talks to one MTA's admin API (GET /status, GET /health, POST /submit). */
export class AdminClient {
  constructor (readonly server: string, readonly host: string, readonly port: number) {}

  private url (path: string): string {
    return `http://${this.host}:${this.port}${path}`
  }

  /** The MTA's status document, or undefined when it does not answer (down, paused, starting). */
  async status (timeoutMs = 1500): Promise<Record<string, unknown> | undefined> {
    try {
      const res = await fetch(this.url('/status'), { signal: AbortSignal.timeout(timeoutMs) })
      return res.ok ? await res.json() as Record<string, unknown> : undefined
    } catch {
      return undefined
    }
  }

  /** Polls /health until it answers 200; `alive` is asked between tries so that a crash fails fast. */
  async waitReady (timeoutMs: number, alive: () => boolean | Promise<boolean>, where: string): Promise<void> {
    const deadline = Date.now() + timeoutMs
    while (Date.now() < deadline) {
      if (!await alive()) throw new CliError(`${this.server} exited during start-up; see ${where}`)
      try {
        const res = await fetch(this.url('/health'), { signal: AbortSignal.timeout(1000) })
        if (res.ok) return
      } catch { /* not up yet */ }
      await sleep(100)
    }
    throw new CliError(`${this.server} did not become ready within ${timeoutMs / 1000} s; see ${where}`)
  }

  /** Deliveries after sequence number `after` (a page of at most 10,000). */
  async deliveries (after = 0, timeoutMs = 10_000): Promise<DeliveryRecord[]> {
    const res = await fetch(this.url(`/deliveries?after=${after}`), { signal: AbortSignal.timeout(timeoutMs) })
    if (!res.ok) throw new CliError(`${this.server} answered /deliveries with ${res.status}`)
    return ((await res.json()) as { deliveries: DeliveryRecord[] }).deliveries
  }

  async submit (body: Record<string, unknown>): Promise<string[]> {
    const res = await fetch(this.url('/submit'), { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    const answer = await res.json() as { mtsIds?: string[], error?: { message: string } }
    if (!res.ok) throw new CliError(`${this.server} refused the submission: ${answer.error?.message ?? res.statusText}`)
    return answer.mtsIds ?? []
  }
}
