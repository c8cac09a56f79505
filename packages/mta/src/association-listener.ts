import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import { CallerLimits, type MtaConfig } from '@xcon/core'
import type { FloodLog } from './flood-log.js'
import type { Logger } from './logger.js'
import { channelAuth } from './ws-transport.js'

/** The channel an upgrade path asks for: `site`, a connector's name, or undefined for anything else. */
export function channelOfPath (url: string | undefined): string | undefined {
  if (url === undefined || url.length > 512) return undefined
  // Parse by hand: `new URL` throws on `//`, decodeURIComponent on a lone `%`.
  const path = url.split('?', 1)[0]!
  if (path === '/xcon/association') return 'site'
  if (!path.startsWith('/xcon/connector/')) return undefined
  try {
    return decodeURIComponent(path.slice('/xcon/connector/'.length))
  } catch {
    return undefined
  }
}

/** How long a refused caller has to answer the close frame before its socket is ended anyway (ws would wait 30 s). */
export const REFUSAL_CLOSE_MS = 250

/** Closes a caller's WebSocket with `code`, and ends the socket if the caller does not answer the close in REFUSAL_CLOSE_MS. */
export function refuseSocket (ws: WebSocket, code: number, reason: string): void {
  ws.close(code, reason)
  const timer = setTimeout(() => ws.terminate(), REFUSAL_CLOSE_MS)
  timer.unref()
  ws.once('close', () => clearTimeout(timer))
}

/** The listener, once listening: `proven` marks a caller's connection as bound (it is never displaced after that). */
export interface AssociationListener {
  http: Server
  wss: WebSocketServer
  port: number
  proven: (ws: WebSocket) => void
}

/**
 * The MTA's association listener: intra-site associations on /xcon/association, each connector's
 * on /xcon/connector/NAME; any other path, or a connector this server does not serve, gets a 404
 * before any WebSocket is made. It never lets one caller take every socket: TCP connections are
 * limited per remote address and in total, and at a full limit the oldest connection that has
 * not bound an association within the bind grace makes room for the newcomer (CallerLimits), so
 * a site's own MTAs, which bind at once, are never shut out by strangers, on loopback where they
 * share one address too. A connection that sends no complete upgrade request is closed after the
 * bind timeout, and every socket has an error listener before anything can arrive on it.
 */
export async function listenForAssociations (
  config: MtaConfig, log: Logger, floods: FloodLog, onInbound: (ws: WebSocket, channel: string, address: string) => void
): Promise<AssociationListener> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes, perMessageDeflate: false })
  const http = createServer({
    // Node checks these every connectionsCheckingInterval: silent sockets go after the bind timeout.
    headersTimeout: config.timing.bindTimeoutMs,
    requestTimeout: config.timing.bindTimeoutMs * 2,
    connectionsCheckingInterval: Math.min(1000, config.timing.bindTimeoutMs)
  }, (_req, res) => { res.writeHead(404).end() })
  const { limits } = config
  const connections = new CallerLimits<Socket>({ total: limits.maxConnections, perAddress: limits.maxConnectionsPerAddress, graceMs: limits.bindGraceMs })
  const socketOf = new WeakMap<WebSocket, Socket>()
  http.on('connection', (socket: Socket) => {
    socket.on('error', () => undefined)
    const address = socket.remoteAddress ?? 'unknown'
    const now = Date.now()
    const room = connections.room(address, now)
    if (!room.ok) {
      if (floods.admit('connections over the limit', address)) {
        log.warn({ category: 'Security', address, total: connections.size, limits: { maxConnections: limits.maxConnections, maxConnectionsPerAddress: limits.maxConnectionsPerAddress } }, `connection from ${address} refused: connections open ${room.reason}`)
      }
      socket.destroy()
      return
    }
    if (room.displace !== undefined) {
      const old = room.displace
      const from = connections.addressOf(old)
      connections.remove(old)
      old.destroy()
      if (floods.admit('connections displaced before they bound', from ?? 'unknown')) {
        log.info({ category: 'Security', address: from, newcomer: address }, `connection from ${from ?? 'unknown'} closed: no association bound on it within ${limits.bindGraceMs} ms, and the connection limit was full when ${address} called`)
      }
    }
    connections.add(socket, address, now)
    socket.once('close', () => connections.remove(socket))
  })
  http.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Not HTTP, or too slow to say what it wants: close it, and count rather than log each one.
    if (err.code !== 'ECONNRESET' && floods.admit('connections that were not a valid upgrade', err.code ?? err.message)) {
      log.info({ category: 'Security', address: socket.remoteAddress, code: err.code }, `connection from ${socket.remoteAddress ?? 'unknown'} closed: ${err.code ?? err.message}`)
    }
    socket.destroy()
  })
  http.on('upgrade', (req, socket: Socket, head) => {
    socket.on('error', () => undefined)
    const channel = channelOfPath(req.url)
    if (channel === undefined || channelAuth(config, channel) === undefined) {
      // Ended once the answer is written: a caller that never closes its side holds nothing here.
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n', () => socket.destroy())
      return
    }
    const address = socket.remoteAddress ?? 'unknown'
    // The 101 and the challenge the new association sends at once leave in one write: a syscall
    // and a segment less for every association (#14's mesh is thousands of them).
    socket.cork()
    process.nextTick(() => socket.uncork())
    wss.handleUpgrade(req, socket, head, ws => {
      // One invalid frame on a socket with no error listener would be an uncaught exception.
      ws.on('error', () => undefined)
      socketOf.set(ws, socket)
      onInbound(ws, channel, address)
    })
  })
  wss.on('error', (err) => log.error({ err }, 'association listener error'))
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(config.server.port ?? 0, listenHost(config.server.host), () => resolve())
  })
  http.on('error', (err) => log.error({ err }, 'association listener error'))
  const proven = (ws: WebSocket): void => {
    const socket = socketOf.get(ws)
    if (socket !== undefined) connections.proven(socket)
  }
  return { http, wss, port: (http.address() as { port: number }).port, proven }
}

/** Listen on the address peers use if it is a loopback or literal IP; on every interface otherwise (containers). */
function listenHost (host: string): string {
  return /^[\d.]+$/.test(host) || host === '::1' || host === 'localhost' ? host : '0.0.0.0'
}
