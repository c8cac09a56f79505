import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { HISTORY_EVENT_IDS, type Topology } from '@xcon/core'
import { applyVerb, isLifecycleVerb } from '../commands/lifecycle.js'
import { gatherStatus } from '../commands/status.js'
import { parseLogLine } from '../logs/pretty-log.js'
import type { SiteBackend } from '../site/site-backend.js'
import { siteActionLog } from '../site/site-action-log.js'
import { DASHBOARD_PAGE } from './dashboard-page.js'
import { CliError } from '../cli-error.js'

/** One line of the live event tail: an Exchange event an MTA logged, or an action of the CLI. */
export interface TailEntry { time: string, server: string, eventId: number | null, tag: string | null, text: string }

/** Lines of the tail the page is sent at most, newest last; it keeps its own history. */
const TAIL_KEEP = 200
/** How often the page gets a new picture of the site: "at least once a second". */
const TICK_MS = 1000

/**
 * `xcon dashboard`: a live page of the site on 127.0.0.1 only. `GET /` is the page (one file,
 * no CDN), `GET /events` a server-sent event stream (the status of every MTA and the new event
 * lines, every second), `POST /action` `{"server","verb"}` kills, stops, starts, restarts,
 * pauses or resumes an MTA through the same backend code as the CLI's commands.
 */
export class DashboardServer {
  private readonly server: Server
  private readonly clients = new Set<ServerResponse>()
  private readonly tail: TailEntry[] = []
  private tailSeq = 0
  private timer: NodeJS.Timeout | undefined
  private readonly stopLogs = new AbortController()

  /** `topology`: the site's, when the backend knows it (for the connectors); the servers come from the backend. */
  constructor (private readonly site: SiteBackend, private readonly topology: Topology | undefined, private readonly gameday: () => unknown = () => undefined) {
    this.server = createServer((req, res) => { this.handle(req, res).catch((err: Error) => { if (!res.headersSent) this.json(res, 500, { error: err.message }) }) })
  }

  async listen (port: number): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', (err: NodeJS.ErrnoException) => {
        reject(err.code === 'EADDRINUSE'
          ? new CliError(`port ${port} on 127.0.0.1 is taken by another program: choose another with --port, or leave it out for a free one`)
          : err)
      })
      this.server.listen(port, '127.0.0.1', () => resolve())
    })
    this.followLogs()
    this.timer = setInterval(() => { this.tick().catch(() => undefined) }, TICK_MS)
    return (this.server.address() as { port: number }).port
  }

  close (): void {
    if (this.timer !== undefined) clearInterval(this.timer)
    this.stopLogs.abort()
    for (const c of this.clients) c.end()
    this.server.close()
  }

  /**
   * The event tail: the site's own log stream from now on (the MTAs' files, `docker compose logs`
   * or each service's logs, and the CLI's actions), merged in time order by the backend.
   */
  private followLogs (): void {
    const events = new Set<number>(HISTORY_EVENT_IDS)
    const add = (line: string): void => {
      const r = parseLogLine(line)
      if (r === undefined || typeof r.server !== 'string') return
      const tag = typeof r.tag === 'string' ? r.tag : null
      if ((r.eventId === undefined || !events.has(r.eventId)) && tag === null) return
      this.tail.push({ time: r.time ?? '', server: r.server, eventId: r.eventId ?? null, tag, text: r.msg ?? '' })
      this.tailSeq++
      if (this.tail.length > TAIL_KEEP) this.tail.shift()
    }
    this.site.logs({ follow: true, json: true, colour: false, fromNow: true, signal: this.stopLogs.signal }, add).catch(() => undefined)
  }

  private lastSent = 0

  /** Sends every page the site as it is now, and the event lines since the last tick. */
  private async tick (): Promise<void> {
    if (this.clients.size === 0) return
    const mtas = await gatherStatus(this.site)
    const fresh = this.tail.slice(Math.max(0, this.tail.length - (this.tailSeq - this.lastSent))).sort((a, b) => a.time < b.time ? -1 : a.time > b.time ? 1 : 0)
    this.lastSent = this.tailSeq
    const data = `data: ${JSON.stringify({ at: new Date().toISOString(), mtas, events: fresh })}\n\n`
    for (const c of this.clients) c.write(data)
  }

  private async handle (req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Only pages of this server, by the name it listens on: a site elsewhere whose name a DNS
    // trick points at 127.0.0.1 would otherwise be same-origin, and could press the buttons.
    const host = (req.headers.host ?? '').replace(/:\d+$/, '')
    if (host !== '127.0.0.1' && host !== 'localhost') return this.json(res, 421, { error: `the dashboard answers requests for 127.0.0.1 or localhost, not ${JSON.stringify(host)}` })
    const route = `${req.method ?? 'GET'} ${new URL(req.url ?? '/', 'http://dashboard').pathname}`
    if (route === 'GET /') {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' })
      res.end(DASHBOARD_PAGE)
      return
    }
    if (route === 'GET /site') {
      // The picture's skeleton: sites, servers, builds, connectors.
      return this.json(res, 200, {
        label: this.site.label,
        servers: this.site.names.map(name => ({ name, site: this.site.siteOf(name), build: this.topology?.servers[name]?.build ?? null })),
        connectors: Object.values(this.topology?.connectors ?? {}).map(c => ({ name: c.name, type: c.type, sites: c.sites, bridgeheads: c.bridgeheads })),
        // A game day's banner: the symptom and its clocks (xcon gameday); its buttons' actions are the trainee's.
        gameday: this.gameday() ?? null
      })
    }
    if (route === 'GET /events') {
      res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
      res.write(`data: ${JSON.stringify({ at: new Date().toISOString(), mtas: await gatherStatus(this.site), events: this.tail })}\n\n`)
      this.clients.add(res)
      req.on('close', () => this.clients.delete(res))
      return
    }
    if (route === 'POST /action') {
      // A page on another origin cannot post JSON here without asking first (CORS preflight), which this server never answers.
      if ((req.headers['content-type'] ?? '').split(';')[0] !== 'application/json') return this.json(res, 415, { error: 'the body must be application/json' })
      let body: { server?: unknown, verb?: unknown }
      try { body = JSON.parse(await readBody(req)) as typeof body } catch { return this.json(res, 400, { error: 'the body must be JSON: {"server": "SRV-A", "verb": "kill"}' }) }
      if (!isLifecycleVerb(body.verb)) return this.json(res, 400, { error: `verb must be one of kill, stop, start, restart, pause, resume, not ${JSON.stringify(body.verb)}` })
      let name: string
      try { name = this.site.resolve(String(body.server)) } catch (err) { return this.json(res, 404, { error: (err as Error).message }) }
      try {
        await applyVerb(this.site, body.verb, name, siteActionLog(this.site))
        return this.json(res, 200, { server: name, state: await this.site.processState(name) })
      } catch (err) {
        return this.json(res, 500, { error: (err as Error).message })
      }
    }
    return this.json(res, 404, { error: `no such page: ${route}` })
  }

  private json (res: ServerResponse, status: number, body: unknown): void {
    res.writeHead(status, { 'content-type': 'application/json' })
    res.end(JSON.stringify(body))
  }
}

async function readBody (req: IncomingMessage, limit = 16 * 1024): Promise<string> {
  let text = ''
  for await (const chunk of req) {
    text += String(chunk)
    if (text.length > limit) throw new Error('body too large')
  }
  return text
}
