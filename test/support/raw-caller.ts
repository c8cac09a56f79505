import { connect, type Socket } from 'node:net'

/** A WebSocket upgrade request for `path`, written by hand: a caller that does what no client library would. */
export function upgradeRequest (path: string): string {
  return `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`
}

/** A caller on loopback that upgrades (or, with `upgrade` false, sends nothing at all) and then never answers anything, not even a close. */
export interface SilentCaller {
  socket: Socket
  /** What arrived, as latin1 text (the 101, then frames). */
  received: () => string
  /** Resolves when the MTA ends the connection, with the milliseconds since it connected. */
  closed: Promise<number>
}

export function silentCaller (port: number, upgrade = true): SilentCaller {
  const started = Date.now()
  const socket = connect(port, '127.0.0.1')
  let got = ''
  socket.on('error', () => undefined)
  socket.on('data', d => { got += d.toString('latin1') })
  if (upgrade) socket.once('connect', () => socket.write(upgradeRequest('/xcon/association')))
  const closed = new Promise<number>(resolve => socket.once('close', () => resolve(Date.now() - started)))
  return { socket, received: () => got, closed }
}
