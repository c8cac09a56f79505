import type { Socket } from 'node:net'
import type { WebSocket } from 'ws'

const corked = new WeakSet<Socket>()

/**
 * Sends one frame, coalescing every frame sent on the same socket in the same turn of the event
 * loop into one write: the socket is corked at the first and uncorked once the turn's callbacks
 * are done. A window of transfers, or the acknowledgements of one store flush, would otherwise
 * cost a system call each (the top item of the transfer profile). ws exposes no cork of its
 * own; without its socket this is a plain send.
 */
export function sendCoalesced (ws: WebSocket, frame: Uint8Array): void {
  const socket = (ws as unknown as { _socket?: Socket })._socket
  if (socket !== undefined && !corked.has(socket)) {
    corked.add(socket)
    socket.cork()
    process.nextTick(() => {
      corked.delete(socket)
      socket.uncork()
    })
  }
  ws.send(frame)
}
