import { createServer, type Server } from 'node:http'
import { WebSocketServer, type WebSocket } from 'ws'
import type { MtaConfig } from '@xcon/core'
import type { Logger } from './logger.js'
import { channelAuth } from './ws-transport.js'

/**
 * The MTA's association listener: intra-site associations on /xcon/association, each connector's
 * on /xcon/connector/NAME; any other path, or a connector this server does not serve, gets a 404
 * before any WebSocket is made.
 */
export async function listenForAssociations (
  config: MtaConfig, log: Logger, onInbound: (ws: WebSocket, channel: string) => void
): Promise<{ http: Server, wss: WebSocketServer, port: number }> {
  const wss = new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes, perMessageDeflate: false })
  const http = createServer((_req, res) => { res.writeHead(404).end() })
  http.on('upgrade', (req, socket, head) => {
    const path = new URL(req.url ?? '/', 'ws://mta').pathname
    const channel = path === '/xcon/association'
      ? 'site'
      : path.startsWith('/xcon/connector/') ? decodeURIComponent(path.slice('/xcon/connector/'.length)) : undefined
    if (channel === undefined || channelAuth(config, channel) === undefined) {
      socket.end('HTTP/1.1 404 Not Found\r\nConnection: close\r\n\r\n')
      return
    }
    wss.handleUpgrade(req, socket, head, ws => onInbound(ws, channel))
  })
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
