import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import {
  BadRequestBodyError, LinkApiError, MissingFieldError, NotALinkError, ProxyExistsError, RequestTooLargeError,
  ToxicNotFoundError, UnknownServerError, XconError, cutLinks, describeToxic, parseToxic, type LinkState, type Toxic
} from '@xcon/core'
import type { SiteProxies } from './site-proxies.js'
import { XCON_VERSION_NUMBER } from '../version.js'

/**
 * The Toxiproxy version whose HTTP API this one follows (Shopify/toxiproxy api.go, v2.12.0):
 * its routes, field names, status codes and error bodies.
 */
export const TOXIPROXY_API_VERSION = '2.12.0'
/** Toxiproxy's own port, taken when it is free. */
export const TOXIPROXY_PORT = 8474
const MAX_BODY = 64 * 1024
/** A body this large is not even read to its end: the connection is closed. */
const MAX_DRAINED = 16 * 1024 * 1024

/** A change made through the API, for the site's log stream and a scenario's history. */
export interface LinkApiChange {
  action: 'toxic' | 'untoxic' | 'enable' | 'disable' | 'reset' | 'partition' | 'heal'
  links: LinkState[]
  toxic?: Toxic
  /** One line, e.g. "toxic timeout_downstream (timeout 0, downstream, toxicity 1) on SRV-A->SRV-B". */
  text: string
}

type Reply = { status: number, body?: unknown }
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * Toxiproxy's HTTP API over a site's link proxies, and xcon's extensions under /xcon/
 * (docs/links.md). Links are the proxies: they cannot be created or deleted, only enabled,
 * disabled and given toxics.
 */
export class LinkApi {
  private server: Server | undefined
  port = 0

  constructor (private readonly site: SiteProxies, private readonly onChange: (change: LinkApiChange) => void, private readonly metrics: () => Promise<{ contentType: string, text: string }>) {}

  /** Serves on Toxiproxy's port 8474 when it is free, else on `fallback`, else on any free port. */
  static async serve (site: SiteProxies, onChange: (change: LinkApiChange) => void, fallback = 0): Promise<LinkApi> {
    const { linkMetrics } = await import('./link-metrics.js')
    const api = new LinkApi(site, onChange, linkMetrics(site))
    for (const port of [TOXIPROXY_PORT, fallback, 0]) {
      try {
        await api.listen(port)
        return api
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE' || port === 0) throw err
      }
    }
    return api
  }

  get url (): string {
    return `http://127.0.0.1:${this.port}`
  }

  async listen (port: number, host = '127.0.0.1'): Promise<number> {
    const server = createServer((req, res) => { void this.handle(req, res) })
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject)
      server.listen(port, host, () => { server.off('error', reject); resolve() })
    })
    server.on('error', () => undefined)
    this.server = server
    this.port = (server.address() as { port: number }).port
    return this.port
  }

  async close (): Promise<void> {
    const server = this.server
    this.server = undefined
    if (server !== undefined) {
      server.closeAllConnections()
      await new Promise<void>(resolve => server.close(() => resolve()))
    }
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Toxiproxy refuses browsers, so that a web page cannot drive it (its stopBrowsersMiddleware).
    if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) return this.text(res, 403, 'User agent not allowed\n')
    let reply: Reply
    try {
      const path = (req.url ?? '/').split('?')[0]!
      if (path === '/metrics' && req.method === 'GET') {
        const m = await this.metrics()
        res.writeHead(200, { 'Content-Type': m.contentType }).end(m.text)
        return
      }
      const segments = path.split('/').slice(1).map(s => {
        try { return decodeURIComponent(s) } catch { throw new BadRequestBodyError(`the path segment "${s}" is not valid percent-encoding`) }
      })
      const body = req.method === 'POST' || req.method === 'PATCH' ? await readBody(req) : undefined
      const found = await this.route(req.method ?? 'GET', segments, body)
      if (found === undefined) {
        // gorilla/mux (Toxiproxy's router): a known path with another method is 405, an unknown one 404.
        if (isKnownPath(segments)) return void res.writeHead(405).end()
        return this.text(res, 404, '404 page not found\n')
      }
      reply = found
    } catch (err) {
      reply = errorReply(err)
    }
    if (reply.body === undefined) res.writeHead(reply.status).end()
    else {
      res.writeHead(reply.status, { 'Content-Type': 'application/json' })
      res.end(`${JSON.stringify(reply.body)}\n`)
    }
  }

  private text (res: ServerResponse, status: number, text: string): void {
    res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8' }).end(text)
  }

  /** Toxiproxy's routes (api.go), then xcon's. Undefined: no such route (404, as gorilla/mux says it). */
  private async route (method: string, p: string[], body: unknown): Promise<Reply | undefined> {
    const links = this.site.links
    const update = method === 'POST' || method === 'PATCH'
    const [a, b, c, d] = p
    if (p.length === 1 && a === 'version' && method === 'GET') return { status: 200, body: { version: TOXIPROXY_API_VERSION, xcon: XCON_VERSION_NUMBER } }
    if (p.length === 1 && a === 'reset' && method === 'POST') {
      const changed = links.reset()
      await this.site.settled()
      this.onChange({ action: 'reset', links: changed, text: `reset: every link enabled, every toxic removed (${changed.length} changed)` })
      return { status: 204 }
    }
    if (a === 'proxies' && p.length === 1) {
      if (method === 'GET') return { status: 200, body: Object.fromEntries(links.all().map(l => [l.name, l.document()])) }
      if (method === 'POST') return this.createProxy(body)
    }
    if (a === 'populate' && p.length === 1 && method === 'POST') {
      if (!Array.isArray(body)) throw new BadRequestBodyError('expected a JSON array of proxies')
      const found = body.map((entry, i) => this.existingLink(entry, `proxy ${i + 1}`))
      for (const [link, entry] of found) await this.setEnabled(link, entry.enabled)
      return { status: 201, body: { proxies: found.map(([l]) => l.document()) } }
    }
    if (a === 'proxies' && b !== undefined) {
      const link = links.get(b)
      if (p.length === 2) {
        if (method === 'GET') return { status: 200, body: link.document() }
        if (update) return await this.updateProxy(link, body)
        if (method === 'DELETE') throw new NotALinkError(`${link.name} is a link of the site and cannot be deleted; disable it with {"enabled": false}, or POST /reset`)
      }
      if (c === 'toxics' && p.length === 3) {
        if (method === 'GET') return { status: 200, body: [...link.toxics] }
        if (method === 'POST') {
          const toxic = link.addToxic(body)
          this.onChange({ action: 'toxic', links: [link], toxic, text: `toxic ${describeToxic(toxic)} on ${link.name}` })
          return { status: 200, body: toxic }
        }
      }
      if (c === 'toxics' && d !== undefined && p.length === 4) {
        if (method === 'GET') return { status: 200, body: link.toxic(d) }
        if (update) {
          const toxic = link.updateToxic(d, body)
          this.onChange({ action: 'toxic', links: [link], toxic, text: `toxic ${describeToxic(toxic)} on ${link.name} (changed)` })
          return { status: 200, body: toxic }
        }
        if (method === 'DELETE') {
          const toxic = link.removeToxic(d)
          this.onChange({ action: 'untoxic', links: [link], toxic, text: `toxic ${toxic.name} removed from ${link.name}` })
          return { status: 204 }
        }
      }
    }
    if (a === 'xcon') return await this.extension(method, p.slice(1), body)
    return undefined
  }

  /** xcon's extensions: a toxic on many links at once, a partition in one call. */
  private async extension (method: string, p: string[], body: unknown): Promise<Reply | undefined> {
    const links = this.site.links
    if (p[0] === 'links' && p[1] === 'toxics') {
      if (p.length === 2 && method === 'POST') {
        if (!isObject(body)) throw new BadRequestBodyError('expected a JSON object')
        const group = (field: 'from' | 'to'): string[] => {
          const v = body[field] ?? links.servers
          const list = typeof v === 'string' ? [v] : v
          if (!Array.isArray(list) || !list.every(x => typeof x === 'string')) throw new BadRequestBodyError(`${field} must be a server name or a list of them`)
          return list
        }
        const targets = links.between(group('from'), group('to'), body.bothWays === true)
        if (targets.length === 0) throw new BadRequestBodyError('from and to name no link (a server has no link to itself)')
        const toxic = parseToxic(body)
        const taken = targets.find(l => l.has(toxic.name))
        if (taken !== undefined) taken.addToxic(toxic) // throws Toxiproxy's 409 before any link changes
        for (const l of targets) l.addToxic(toxic)
        this.onChange({ action: 'toxic', links: targets, toxic, text: `toxic ${describeToxic(toxic)} on ${targets.map(l => l.name).join(', ')}` })
        return { status: 200, body: { toxic, links: targets.map(l => l.name) } }
      }
      if (p.length === 3 && method === 'DELETE') {
        const holding = links.all().filter(l => l.has(p[2]!))
        if (holding.length === 0) throw new ToxicNotFoundError(p[2]!)
        const removed = holding.map(l => l.removeToxic(p[2]!))
        this.onChange({ action: 'untoxic', links: holding, toxic: removed[0]!, text: `toxic ${p[2]!} removed from ${holding.map(l => l.name).join(', ')}` })
        return { status: 204 }
      }
    }
    if (p[0] === 'partition' && p.length === 1) {
      if (method === 'POST') {
        if (!isObject(body)) throw new BadRequestBodyError('expected a JSON object')
        const groups = body.groups
        if (!Array.isArray(groups) || groups.length < 2 || !groups.every(g => Array.isArray(g) && g.length > 0 && g.every(x => typeof x === 'string'))) {
          throw new BadRequestBodyError('groups must be two or more non-empty lists of server names, e.g. [["SRV-A"], ["SRV-B", "SRV-C"]]')
        }
        const mode = body.mode ?? 'blackhole'
        if (mode !== 'blackhole' && mode !== 'refuse') throw new BadRequestBodyError(`mode must be "blackhole" or "refuse", got ${JSON.stringify(mode)}`)
        const resolved = (groups as string[][]).map(g => links.resolve(g))
        const cut = links.cut(cutLinks({ groups: resolved, oneWay: body.oneWay === true }), mode)
        await this.site.settled()
        this.onChange({ action: 'partition', links: cut, text: `partition ${resolved.map(g => g.join(',')).join(' | ')}${body.oneWay === true ? ' (one way)' : ''}, ${mode}: ${cut.length} links cut` })
        return { status: 200, body: { links: cut.map(l => l.name), mode } }
      }
      if (method === 'DELETE') {
        const healed = links.heal()
        await this.site.settled()
        this.onChange({ action: 'heal', links: healed, text: `partition healed: ${healed.length} links restored` })
        return { status: 204 }
      }
    }
    return undefined
  }

  /** Toxiproxy's create: here only a link that exists answers (409), any other proxy is refused (403). */
  private createProxy (body: unknown): Reply {
    if (!isObject(body)) throw new BadRequestBodyError('expected a JSON object')
    if (typeof body.name !== 'string' || body.name === '') throw new MissingFieldError('name')
    if (typeof body.upstream !== 'string' || body.upstream === '') throw new MissingFieldError('upstream')
    const links = this.site.links
    if (links.all().some(l => l.name === body.name)) throw new ProxyExistsError(body.name)
    throw new NotALinkError(`"${body.name}" (listen ${String(body.listen ?? '')}, upstream ${body.upstream}) is not a link of this site, and xcon adds no other proxy; its links are named FROM->TO for every two of ${links.servers.join(', ')} (GET /proxies)`)
  }

  /** A populate entry must be a link as it is; its `enabled` is applied. */
  private existingLink (entry: unknown, where: string): [LinkState, { enabled: boolean }] {
    if (!isObject(entry)) throw new BadRequestBodyError(`${where} must be a JSON object`)
    if (typeof entry.name !== 'string' || entry.name === '') throw new MissingFieldError(`name at ${where}`)
    const link = this.site.links.all().find(l => l.name === entry.name)
    if (link === undefined || (entry.upstream !== undefined && entry.upstream !== link.upstream)) {
      throw new NotALinkError(`${where} ("${entry.name}", upstream ${String(entry.upstream)}) is not a link of this site as it is (GET /proxies)`)
    }
    return [link, { enabled: entry.enabled !== false }]
  }

  private async updateProxy (link: LinkState, body: unknown): Promise<Reply> {
    if (!isObject(body)) throw new BadRequestBodyError('expected a JSON object')
    for (const field of ['listen', 'upstream'] as const) {
      if (body[field] !== undefined && body[field] !== link[field]) throw new NotALinkError(`${link.name}'s ${field} is ${link[field]}: a link's addresses are the site's and cannot change`)
    }
    if (body.enabled !== undefined && typeof body.enabled !== 'boolean') throw new BadRequestBodyError('enabled must be true or false')
    await this.setEnabled(link, body.enabled ?? link.enabled)
    return { status: 200, body: link.document() }
  }

  private async setEnabled (link: LinkState, enabled: boolean): Promise<void> {
    if (enabled === link.enabled) return
    link.setEnabled(enabled)
    await this.site.settled()
    this.onChange({ action: enabled ? 'enable' : 'disable', links: [link], text: `${link.name} ${enabled ? 'enabled' : 'disabled (connects refused, open connections reset)'}` })
  }
}


/** The paths of Toxiproxy's routes and xcon's (whatever the names in them). */
function isKnownPath (p: string[]): boolean {
  const [a, , c] = p
  if (p.length === 1) return ['version', 'reset', 'proxies', 'populate', 'metrics'].includes(a!)
  if (a === 'proxies') return p.length === 2 || (c === 'toxics' && (p.length === 3 || p.length === 4))
  if (a === 'xcon') return (p[1] === 'partition' && p.length === 2) || (p[1] === 'links' && c === 'toxics' && (p.length === 3 || p.length === 4))
  return false
}

async function readBody (req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    // Over the limit, the rest is read and dropped, so that the client reads the 413 rather than a reset.
    if (size <= MAX_BODY) chunks.push(chunk as Buffer)
    else if (size > MAX_DRAINED) req.destroy()
  }
  if (size > MAX_BODY) throw new RequestTooLargeError(MAX_BODY)
  const text = Buffer.concat(chunks).toString('utf8')
  if (text.trim() === '') return undefined
  try { return JSON.parse(text) } catch (err) { throw new BadRequestBodyError((err as Error).message) }
}

function errorReply (err: unknown): Reply {
  if (err instanceof LinkApiError) return { status: err.status, body: { error: err.message, status: err.status, ...(err.hint === undefined ? {} : { hint: err.hint }) } }
  if (err instanceof UnknownServerError) return { status: 404, body: { error: err.message, status: 404 } }
  if (err instanceof XconError) return { status: 400, body: { error: err.message, status: 400 } }
  return { status: 500, body: { error: (err as Error).message, status: 500 } }
}
