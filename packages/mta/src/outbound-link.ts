import type { WebSocket } from 'ws'
import {
  AssociationLostError, TransferTimeoutError, encodeFrame,
  type Envelope, type TransferErrorFrame, type TransferOkFrame
} from '@xcon/core'
import { sendCoalesced } from './send-coalesced.js'

export type TransferReply = TransferOkFrame | TransferErrorFrame

/**
 * The sending half of a bound outbound association: numbers transfers, matches each
 * acknowledgement to its transfer, and fails what is in flight when the association ends.
 */
export class OutboundLink {
  private seq = 0
  private readonly pending = new Map<number, { resolve: (r: TransferReply) => void, reject: (e: Error) => void, timer: NodeJS.Timeout }>()
  private lost: Error | undefined

  constructor (readonly assocId: string, readonly peer: string, private readonly ws: WebSocket, private readonly timeoutMs: number) {}

  get inFlight (): number {
    return this.pending.size
  }

  get open (): boolean {
    return this.lost === undefined
  }

  /** Sends one message; resolves with the peer's acknowledgement or its error reply. */
  transfer (envelope: Envelope, content: Uint8Array): Promise<TransferReply> {
    if (this.lost !== undefined) return Promise.reject(this.lost)
    const seq = ++this.seq
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq)
        reject(new TransferTimeoutError(`${this.peer} did not acknowledge ${envelope.mtsId} within ${this.timeoutMs} ms`))
      }, this.timeoutMs)
      this.pending.set(seq, { resolve, reject, timer })
      sendCoalesced(this.ws, encodeFrame({ type: 'transfer', seq, envelope, content }))
    })
  }

  /** Called by the transport for each transfer_ok / transfer_error. Late replies are ignored. */
  onReply (reply: TransferReply): void {
    const p = this.pending.get(reply.seq)
    if (p === undefined) return
    this.pending.delete(reply.seq)
    clearTimeout(p.timer)
    p.resolve(reply)
  }

  /** The association ended: everything in flight stays queued and will be sent again. */
  fail (reason: string): void {
    if (this.lost !== undefined) return
    this.lost = new AssociationLostError(`association ${this.assocId} to ${this.peer} ended: ${reason}`)
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(this.lost)
    }
    this.pending.clear()
  }
}
