import { createServer, type Server } from 'node:http'
import type { Socket } from 'node:net'
import { WebSocketServer, type WebSocket } from 'ws'
import type { MtaConfig } from '@xcon/core'
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

/**
 * The MTA's association listener: intra-site associations on /xcon/association, each connector's
 * on /xcon/connector/NAME; any other path, or a connector this server does not serve, gets a 404
 * before any WebSocket is made. It never lets one caller take every socket: TCP connections are
 * limited per remote address and in total, a connection that sends no complete upgrade request
 * is closed after the bind timeout, and every socket has an error listener before anything can
 * arrive on it.
 */
export async function listenForAssociations (
  config: MtaConfig, log: Logger, floods: FloodLog, onInbound: (ws: WebSocket, channel: string, address: string) => void
): Promise<{ http: Server, wss: WebSocketServer, port: number }> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes, perMessageDeflate: false })
  const http = createServer({
    // Node checks these every connectionsCheckingInterval: silent sockets go after the bind timeout.
    headersTimeout: config.timing.bindTimeoutMs,
    requestTimeout: config.timing.bindTimeoutMs * 2,
    connectionsCheckingInterval: Math.min(1000, config.timing.bindTimeoutMs)
  }, (_req, res) => { res.writeHead(404).end() })
  const perAddress = new Map<string, number>()
  let total = 0
  http.on('connection', (socket: Socket) => {
    socket.on('error', () => undefined)
    const address = socket.remoteAddress ?? 'unknown'
    const mine = perAddress.get(address) ?? 0
    if (total >= config.limits.maxConnections || mine >= config.limits.maxConnectionsPerAddress) {
      if (floods.admit('connections over the limit', address)) {
        log.warn({ category: 'Security', address, total, fromAddress: mine, limits: config.limits }, `connection from ${address} refused: ${total >= config.limits.maxConnections ? `${total} connections open, the limit` : `${mine} from this address, the limit`}`)
      }
      socket.destroy()
      return
    }
    total++
    perAddress.set(address, mine + 1)
    socket.once('close', () => {
      total--
      const n = (perAddress.get(address) ?? 1) - 1
      if (n <= 0) perAddress.delete(address)
      else perAddress.set(address, n)
    })
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
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
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
      onInbound(ws, channel, address)
    })
  })
  wss.on('error', (err) => log.error({ err }, 'association listener error'))
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject)
    http.listen(config.server.port ?? 0, listenHost(config.server.host), () => resolve())
  })
  http.on('error', (err) => log.error({ err }, 'association listener error'))
  return { http, wss, port: (http.address() as { port: number }).port }
}

/** Listen on the address peers use if it is a loopback or literal IP; on every interface otherwise (containers). */
function listenHost (host: string): string {
  return /^[\d.]+$/.test(host) || host === '::1' || host === 'localhost' ? host : '0.0.0.0'
}
