import { timingSafeEqual } from 'node:crypto'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import {
  DiskFullError, MessageTooLargeError, PRIORITIES, UnauthorizedError, XconError, undeliverableRecipients,
  type DeliveryRecord, type MtaConfig, type MtaStatusDocument, type Priority
} from '@xcon/core'
import type { Logger } from './logger.js'
import type { MtaState, Submission } from '@xcon/core'

/** What the admin API needs of its MTA: its answers are core's admin contract. */
export interface AdminHost {
  readonly config: MtaConfig
  readonly log: Logger
  readonly state: MtaState
  status: () => MtaStatusDocument
  listDeliveries: (after: number) => DeliveryRecord[]
  submitMany: (s: Submission, count: number) => Promise<string[]>
  /** The Prometheus exposition of the MTA's metrics. */
  metrics: () => Promise<{ contentType: string, body: string }>
}

/** Most messages one submit request may ask for. */
const MAX_COUNT = 200_000
/** Most content bytes one submit request may write (count x body): a request cannot fill a disk in seconds. */
const MAX_REQUEST_CONTENT_BYTES = 256 * 1024 * 1024
/** Messages of one request written in one transaction. */
const SUBMIT_BATCH = 500
/**
 * Transactions of one request outstanding at once: the next batch is built while the last one is
 * flushed to disk, and LMDB commits what is queued together (the flush was the sender's idle time).
 */
const SUBMIT_IN_FLIGHT = 4

/** The status a refused submission is answered with. */
function statusOf (err: XconError): number {
  if (err instanceof DiskFullError) return 507
  if (err instanceof MessageTooLargeError) return 413
  return err.definite ? 400 : 503
}

/**
 * The MTA's admin API (loopback by default): `GET /status`, `GET /health`,
 * `GET /deliveries?after=N`, `GET /metrics` (Prometheus), `POST /submit`. Errors are `{ "error": { "code", "message" } }`.
 */
export function createAdminServer (mta: AdminHost): Server {
  const server = createServer({ headersTimeout: 10_000, requestTimeout: 120_000 }, (req, res) => {
    handle(mta, req, res).catch((err: Error) => {
      mta.log.error({ err }, 'admin request failed')
      if (!res.headersSent) reply(res, 500, { error: { code: 'XCON_ERR_INTERNAL', message: err.message } })
    })
  })
  server.on('clientError', (_err, socket) => { socket.destroy() })
  return server
}

/** True when the request carries the admin token (or none is asked for). */
function authorized (mta: AdminHost, req: IncomingMessage): boolean {
  const token = mta.config.adminToken
  if (token === undefined) return true
  const given = /^Bearer (.+)$/.exec(req.headers.authorization ?? '')?.[1] ?? ''
  const a = Buffer.from(given)
  const b = Buffer.from(token)
  return a.length === b.length && timingSafeEqual(a, b)
}

async function handle (mta: AdminHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  let url: URL
  try {
    url = new URL(req.url ?? '/', 'http://admin')
  } catch {
    return reply(res, 400, { error: { code: 'XCON_ERR_BAD_REQUEST', message: 'the request path is not a URL path' } })
  }
  const route = `${req.method ?? 'GET'} ${url.pathname}`
  // /health stays open for container health checks; everything else wants the token when one is set.
  if (route !== 'GET /health' && !authorized(mta, req)) {
    const err = new UnauthorizedError()
    res.setHeader('www-authenticate', 'Bearer realm="xcon"')
    return reply(res, 401, { error: { code: err.code, message: err.message } })
  }
  switch (route) {
    case 'GET /status':
      return reply(res, 200, mta.status())
    case 'GET /metrics': {
      const { contentType, body } = await mta.metrics()
      res.writeHead(200, { 'content-type': contentType })
      res.end(body)
      return
    }
    case 'GET /health':
      return reply(res, mta.state === 'running' ? 200 : 503, { state: mta.state })
    case 'GET /deliveries': {
      const after = Number(url.searchParams.get('after') ?? 0)
      return reply(res, 200, { deliveries: mta.listDeliveries(Number.isSafeInteger(after) && after > 0 ? after : 0) })
    }
    case 'POST /submit':
      return await submit(mta, req, res)
    default:
      return reply(res, 404, { error: { code: 'XCON_ERR_NOT_FOUND', message: `no such endpoint: ${route}; try GET /status` } })
  }
}

async function submit (mta: AdminHost, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const bad = (message: string, status = 400): void => reply(res, status, { error: { code: 'XCON_ERR_BAD_REQUEST', message } })
  if (mta.state !== 'running') return reply(res, 503, { error: { code: 'XCON_ERR_SHUTTING_DOWN', message: `the MTA is ${mta.state}` } })
  // JSON only: a form or text/plain body (what a web page can send without asking) is refused.
  const type = (req.headers['content-type'] ?? '').split(';', 1)[0]!.trim().toLowerCase()
  if (type !== 'application/json') return closeAfter(req, res, 415, `the body must be application/json, not ${type === '' ? 'untyped' : JSON.stringify(type.slice(0, 60))}`)
  // The content may be up to the maximum message size, and JSON may escape some of it.
  const maxBody = 2 * mta.config.limits.maxMessageBytes + 64 * 1024
  const declared = Number(req.headers['content-length'] ?? 0)
  if (declared > maxBody) return closeAfter(req, res, 413, `body of ${declared} bytes is over the limit of ${maxBody} bytes`)
  let body: Record<string, unknown>
  try {
    const parsed = JSON.parse(await readBody(req, maxBody)) as unknown
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return bad('the body must be a JSON object like {"to": "user1@SRV-B"}')
    body = parsed as Record<string, unknown>
  } catch (err) {
    if (err instanceof BodyTooLarge) return closeAfter(req, res, 413, err.message)
    return bad(`body must be JSON: ${(err as Error).message.slice(0, 200)}`)
  }
  const to = typeof body.to === 'string' ? [body.to] : body.to
  if (!Array.isArray(to) || to.length === 0 || !to.every(t => typeof t === 'string')) return bad('"to" must be an address or a list of addresses (alias@SERVER)')
  const count = body.count === undefined ? 1 : Number(body.count)
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) return bad(`"count" must be a whole number from 1 to ${MAX_COUNT}`)
  const priority = (body.priority ?? 'normal') as Priority
  if (!PRIORITIES.includes(priority)) return bad(`"priority" must be one of ${PRIORITIES.join(', ')}`)
  const from = typeof body.from === 'string' && body.from !== '' ? body.from : 'administrator'
  const subject = typeof body.subject === 'string' ? body.subject : ''
  const content = Buffer.from(typeof body.body === 'string' ? body.body : '')
  if (count * content.byteLength > MAX_REQUEST_CONTENT_BYTES) return bad(`count x body is ${count * content.byteLength} bytes, over the ${MAX_REQUEST_CONTENT_BYTES} one request may write; send several requests`)
  // Batches of up to SUBMIT_BATCH messages share one durable transaction; the MTS-IDs come back in
  // order, and after a failure (a full disk) the answer names the ones that were stored all the same.
  const mtsIds: string[] = []
  const pending: Array<Promise<{ ids: string[] } | { err: unknown }>> = []
  let failure: unknown
  for (let done = 0; done < count || pending.length > 0;) {
    while (failure === undefined && done < count && pending.length < SUBMIT_IN_FLIGHT) {
      const n = Math.min(SUBMIT_BATCH, count - done)
      pending.push(mta.submitMany({ from, to: to as string[], subject, content, priority }, n).then(ids => ({ ids }), (err: unknown) => ({ err })))
      done += n
    }
    const next = await pending.shift()
    if (next === undefined) break
    if ('ids' in next) mtsIds.push(...next.ids)
    else failure ??= next.err
  }
  if (failure !== undefined) {
    if (failure instanceof XconError) return reply(res, statusOf(failure), { error: { code: failure.code, message: failure.message }, mtsIds })
    throw failure
  }
  // Said in the answer too, so that `xcon send` can say it: each of these gets an NDR.
  const nonDelivered = undeliverableRecipients(mta.config.topology, to as string[]).map(({ recipient, reason }) => ({ recipient, reason }))
  return reply(res, 200, nonDelivered.length === 0 ? { mtsIds } : { mtsIds, nonDelivered })
}

class BodyTooLarge extends Error {}

/** Reads a body of at most `limit` bytes; past it, stops keeping what arrives and rejects. */
function readBody (req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    let refused = false
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size <= limit) chunks.push(c)
      else if (!refused) {
        refused = true
        chunks.length = 0
        reject(new BodyTooLarge(`body over the limit of ${limit} bytes`))
      }
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

/** What a refused request may still send, to be read and dropped, before its connection is cut. */
const DRAIN_LIMIT_BYTES = 256 * 1024 * 1024

/**
 * Answers before the body is read (or read whole), then reads and drops the rest: a client that
 * is still sending gets the status, not a broken pipe. A body beyond DRAIN_LIMIT_BYTES, or one
 * still coming after 30 s, has its connection cut. Nothing of it is kept.
 */
function closeAfter (req: IncomingMessage, res: ServerResponse, status: number, message: string): void {
  reply(res, status, { error: { code: status === 413 ? 'XCON_ERR_MESSAGE_TOO_LARGE' : 'XCON_ERR_BAD_REQUEST', message } })
  let drained = 0
  const cut = setTimeout(() => req.destroy(), 30_000).unref()
  req.on('data', (c: Buffer) => { drained += c.length; if (drained > DRAIN_LIMIT_BYTES) req.destroy() })
  req.on('end', () => clearTimeout(cut))
  req.on('close', () => clearTimeout(cut))
  req.resume()
}

function reply (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
