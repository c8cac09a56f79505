import type { WebSocket } from 'ws'
import {
  AssociationLostError, MessageTooLargeError, TransferTimeoutError, encodeFrame,
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
  private readonly pending = new Map<number, { resolve: (r: TransferReply) => void, reject: (e: Error) => void, timer: NodeJS.Timeout, bytes: number }>()
  private lost: Error | undefined

  constructor (readonly assocId: string, readonly peer: string, private readonly ws: WebSocket, private readonly timeoutMs: number, private readonly maxFrameBytes: number) {}

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
    const frame = encodeFrame({ type: 'transfer', seq, envelope, content })
    // A frame the peer would refuse (1009) would only come back again and again: say so now.
    if (frame.byteLength > this.maxFrameBytes) return Promise.reject(new MessageTooLargeError(frame.byteLength, this.maxFrameBytes, 'transfer frame'))
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq)
        reject(new TransferTimeoutError(`${this.peer} did not acknowledge ${envelope.mtsId} within ${this.timeoutMs} ms`))
      }, this.timeoutMs)
      this.pending.set(seq, { resolve, reject, timer, bytes: frame.byteLength })
      sendCoalesced(this.ws, frame)
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

  /**
   * The association ended: everything in flight stays queued and will be sent again. When the
   * peer closed it for a frame too large (1009, a peer with a smaller limit), the largest frame
   * in flight is the one it refused: that message fails for good instead of coming back forever.
   */
  fail (reason: string, refusedAsTooLarge = false): void {
    if (this.lost !== undefined) return
    this.lost = new AssociationLostError(`association ${this.assocId} to ${this.peer} ended: ${reason}`)
    let largest: { bytes: number, reject: (e: Error) => void } | undefined
    if (refusedAsTooLarge) for (const p of this.pending.values()) if (largest === undefined || p.bytes > largest.bytes) largest = p
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      p.reject(p === largest ? new MessageTooLargeError(p.bytes, undefined, `transfer frame refused by ${this.peer} (1009)`) : this.lost)
    }
    this.pending.clear()
  }
}
