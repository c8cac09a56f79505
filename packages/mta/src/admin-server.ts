import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { PRIORITIES, XconError, type Priority } from '@xcon/core'
import type { Mta } from './mta.js'

/** Largest submit request body; a client that sends more gets 413. */
const MAX_BODY_BYTES = 4 * 1024 * 1024
/** Most messages one submit request may ask for. */
const MAX_COUNT = 200_000
/** Messages of one request written in one transaction. */
const SUBMIT_BATCH = 500

/**
 * The MTA's admin API (loopback by default): `GET /status`, `GET /health`,
 * `GET /deliveries?after=N`, `POST /submit`. Errors are `{ "error": { "code", "message" } }`.
 */
export function createAdminServer (mta: Mta): Server {
  return createServer((req, res) => {
    handle(mta, req, res).catch((err: Error) => {
      mta.log.error({ err }, 'admin request failed')
      if (!res.headersSent) reply(res, 500, { error: { code: 'XCON_ERR_INTERNAL', message: err.message } })
    })
  })
}

async function handle (mta: Mta, req: IncomingMessage, res: ServerResponse): Promise<void> {
  const url = new URL(req.url ?? '/', 'http://admin')
  const route = `${req.method ?? 'GET'} ${url.pathname}`
  switch (route) {
    case 'GET /status':
      return reply(res, 200, mta.status())
    case 'GET /health':
      return reply(res, mta.state === 'running' ? 200 : 503, { state: mta.state })
    case 'GET /deliveries': {
      const after = Number(url.searchParams.get('after') ?? 0)
      return reply(res, 200, { deliveries: mta.listDeliveries(Number.isFinite(after) ? after : 0) })
    }
    case 'POST /submit':
      return await submit(mta, req, res)
    default:
      return reply(res, 404, { error: { code: 'XCON_ERR_NOT_FOUND', message: `no such endpoint: ${route}; try GET /status` } })
  }
}

async function submit (mta: Mta, req: IncomingMessage, res: ServerResponse): Promise<void> {
  if (mta.state !== 'running') return reply(res, 503, { error: { code: 'XCON_ERR_SHUTTING_DOWN', message: `the MTA is ${mta.state}` } })
  let body: Record<string, unknown>
  try {
    body = JSON.parse(await readBody(req)) as Record<string, unknown>
  } catch (err) {
    return reply(res, (err as { status?: number }).status ?? 400, { error: { code: 'XCON_ERR_BAD_REQUEST', message: `body must be JSON: ${(err as Error).message}` } })
  }
  const bad = (message: string): void => reply(res, 400, { error: { code: 'XCON_ERR_BAD_REQUEST', message } })
  const to = typeof body.to === 'string' ? [body.to] : body.to
  if (!Array.isArray(to) || to.length === 0 || !to.every(t => typeof t === 'string')) return bad('"to" must be an address or a list of addresses (alias@SERVER)')
  const count = body.count === undefined ? 1 : Number(body.count)
  if (!Number.isInteger(count) || count < 1 || count > MAX_COUNT) return bad(`"count" must be a whole number from 1 to ${MAX_COUNT}`)
  const priority = (body.priority ?? 'normal') as Priority
  if (!PRIORITIES.includes(priority)) return bad(`"priority" must be one of ${PRIORITIES.join(', ')}`)
  const from = typeof body.from === 'string' && body.from !== '' ? body.from : 'administrator'
  const subject = typeof body.subject === 'string' ? body.subject : ''
  const content = Buffer.from(typeof body.body === 'string' ? body.body : '')
  const mtsIds: string[] = []
  try {
    // Batches of up to SUBMIT_BATCH messages share one durable transaction.
    for (let done = 0; done < count; done += SUBMIT_BATCH) {
      mtsIds.push(...await mta.submitMany({ from, to: to as string[], subject, content, priority }, Math.min(SUBMIT_BATCH, count - done)))
    }
  } catch (err) {
    if (err instanceof XconError) return reply(res, 400, { error: { code: err.code, message: err.message }, mtsIds })
    throw err
  }
  return reply(res, 200, { mtsIds })
}

function readBody (req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (c: Buffer) => {
      size += c.length
      if (size > MAX_BODY_BYTES) {
        reject(Object.assign(new Error(`body over ${MAX_BODY_BYTES} bytes`), { status: 413 }))
        req.destroy()
      } else chunks.push(c)
    })
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.on('error', reject)
  })
}

function reply (res: ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body)
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) })
  res.end(text)
}
