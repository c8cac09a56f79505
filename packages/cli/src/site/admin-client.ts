import type { DeliveriesAnswer, DeliveryRecord, MtaStatusDocument, SubmitAnswer as SubmitBody } from '@xcon/core'
import { CliError } from '../cli-error.js'
import { waitUntil } from '../wait-until.js'

/** One delivery as GET /deliveries lists it (core's admin contract). */
export type { DeliveryRecord }

/** One HTTP exchange with an MTA's admin API, however it is reached (loopback, or inside a container). */
export type AdminTransport = (path: string, init: { method: string, headers: Record<string, string>, body?: string }, signal: AbortSignal) =>
Promise<{ status: number, statusText: string, contentType: string, text: string }>

/** The admin API at host:port, over the network. */
export function httpTransport (host: string, port: number): AdminTransport {
  return async (path, init, signal) => {
    const res = await fetch(`http://${host}:${port}${path}`, { ...init, signal })
    return { status: res.status, statusText: res.statusText, contentType: res.headers.get('content-type') ?? '', text: await res.text() }
  }
}

/** Talks to one MTA's admin API (GET /status, GET /health, POST /submit). */
export class AdminClient {
  private readonly transport: AdminTransport

  /** `token`: the admin token the MTA asks for (XCON_ADMIN_TOKEN), sent as a bearer token. */
  constructor (readonly server: string, readonly host: string, readonly port: number, private readonly token: string | undefined = process.env.XCON_ADMIN_TOKEN, transport?: AdminTransport) {
    this.transport = transport ?? httpTransport(host, port)
  }

  /**
   * One request and its JSON answer within `timeoutMs`. The deadline is an ordinary (ref'd) timer,
   * not AbortSignal.timeout: that one is unref'd, and a request accepted by docker-proxy for a
   * container still starting would then leave nothing to keep the process alive, which exits.
   */
  private async request (path: string, timeoutMs: number, init: RequestInit = {}): Promise<{ ok: boolean, status: number, statusText: string, body: any }> {
    const abort = new AbortController()
    const timer = setTimeout(() => abort.abort(new Error(`${this.server} did not answer ${path} within ${timeoutMs} ms`)), timeoutMs)
    try {
      const headers = { ...(init.headers as Record<string, string> | undefined), ...(this.token === undefined || this.token === '' ? {} : { authorization: `Bearer ${this.token}` }) }
      const res = await this.transport(path, { method: init.method ?? 'GET', headers, ...(typeof init.body === 'string' ? { body: init.body } : {}) }, abort.signal)
      const body = res.contentType.includes('json') ? JSON.parse(res.text) : res.text
      return { ok: res.status >= 200 && res.status < 300, status: res.status, statusText: res.statusText, body }
    } finally {
      clearTimeout(timer)
    }
  }

  /** The MTA's status document, or undefined when it does not answer (down, paused, starting). */
  async status (timeoutMs = 1500): Promise<MtaStatusDocument | undefined> {
    try {
      const res = await this.request('/status', timeoutMs)
      if (res.status === 401) throw new CliError(`${this.server} asks for an admin token: set XCON_ADMIN_TOKEN (docs/configuration.md)`)
      return res.ok ? res.body as MtaStatusDocument : undefined
    } catch (err) {
      if (err instanceof CliError) throw err
      return undefined
    }
  }

  /** Polls /health until it answers 200; `alive` is asked between tries so that a crash fails fast. */
  async waitReady (timeoutMs: number, alive: () => boolean | Promise<boolean>, where: string, reason?: () => string | undefined): Promise<void> {
    // A refused request is "not up yet"; a process gone is the end of the wait.
    const seen = await waitUntil(async () => !await alive() ? 'exited' : (await this.request('/health', 1000)).ok && 'ready', { timeoutMs })
    if (seen === 'ready') return
    if (seen === 'exited') {
      const why = reason?.()
      throw new CliError(`${this.server} exited during start-up${why === undefined ? '' : ` (${why})`}; see ${where}`)
    }
    throw new CliError(`${this.server} did not become ready within ${timeoutMs / 1000} s; see ${where}`)
  }

  /** Deliveries after sequence number `after` (a page of at most 10,000). */
  async deliveries (after = 0, timeoutMs = 10_000): Promise<DeliveryRecord[]> {
    const res = await this.request(`/deliveries?after=${after}`, timeoutMs)
    if (!res.ok) throw new CliError(`${this.server} answered /deliveries with ${res.status}`)
    return (res.body as DeliveriesAnswer).deliveries
  }

  async submit (body: Record<string, unknown>, timeoutMs = 120_000): Promise<string[]> {
    return (await this.submitMail(body, timeoutMs)).mtsIds
  }

  /** POST /submit, with the recipients the directory did not know (each gets an NDR). */
  async submitMail (body: Record<string, unknown>, timeoutMs = 120_000): Promise<SubmitAnswer> {
    const res = await this.request('/submit', timeoutMs, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } })
    const answer = (typeof res.body === 'object' ? res.body : {}) as Partial<SubmitBody> & { error?: { message: string } }
    if (!res.ok) throw new CliError(`${this.server} refused the submission: ${answer.error?.message ?? res.statusText}`)
    return { mtsIds: answer.mtsIds ?? [], nonDelivered: answer.nonDelivered ?? [] }
  }
}

/** What POST /submit answers (core's admin contract), with `nonDelivered` always there. */
export type SubmitAnswer = Required<SubmitBody>
