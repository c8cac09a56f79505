import type { TransportEvent, TransportLogic } from '@xcon/core'

/**
 * An in-memory network for machine tests: each peer is up, down (refuses), silent (a paused or
 * black-holed host: nothing answers) or rejecting (answers, then refuses the bind).
 */
export type PeerState = 'up' | 'down' | 'silent' | 'rejecting'

export function memoryNetwork (initial: Record<string, PeerState> = {}) {
  const peers = new Map<string, PeerState>(Object.entries(initial))
  const state = (peer: string | undefined): PeerState => peers.get(peer ?? '') ?? 'down'
  const transport: TransportLogic = ({ input, sendBack, receive }) => {
    const send = (e: TransportEvent): void => sendBack(e)
    const peer = input.peer ?? 'INBOUND'
    switch (state(peer)) {
      case 'down': send({ type: 'transport.failed', kind: 'refused', reason: 'connection refused' }); break
      case 'silent': break
      case 'rejecting': send({ type: 'transport.connected' }); send({ type: 'transport.failed', kind: 'bind-rejected', reason: 'bind refused' }); break
      case 'up': send({ type: 'transport.connected' }); send({ type: 'transport.bound', peer }); break
    }
    receive(cmd => {
      if (cmd.type === 'transport.ping' && state(peer) === 'up') send({ type: 'transport.alive' })
      if (cmd.type === 'transport.release' && state(peer) === 'up') send({ type: 'transport.closed' })
    })
  }
  return { transport, set: (peer: string, s: PeerState) => { peers.set(peer, s) } }
}
