import type { WebSocket } from 'ws'
import {
  AssociationLostError, BatchTooLargeError, MalformedFrameError, MessageTooLargeError, TransferTimeoutError, encodeFrame,
  type TransferAckFrame, type TransferMessage, type TransferOutcome
} from '@xcon/core'
import { sendCoalesced } from './send-coalesced.js'

interface Pending {
  messages: readonly TransferMessage[]
  bytes: number
  resolve: (r: TransferOutcome[]) => void
  reject: (e: Error) => void
  timer: NodeJS.Timeout
}

/**
 * The sending half of a bound outbound association: numbers transfers, matches each
 * acknowledgement to its transfer, and fails what is in flight when the association ends.
 */
export class OutboundLink {
  private seq = 0
  private readonly pending = new Map<number, Pending>()
  private lost: Error | undefined

  constructor (
    readonly assocId: string, readonly peer: string, private readonly ws: WebSocket, private readonly timeoutMs: number,
    private readonly maxFrameBytes: number, private readonly violation: (err: Error) => void
  ) {}

  get inFlight (): number {
    return this.pending.size
  }

  get open (): boolean {
    return this.lost === undefined
  }

  /**
   * Sends one transfer of several messages; resolves with the peer's outcome for each. A frame
   * over this side's own limit is split in two (one the peer would refuse with 1009 would only
   * come back again and again); a single message over it fails for good.
   */
  async transfer (messages: readonly TransferMessage[]): Promise<TransferOutcome[]> {
    if (this.lost !== undefined) throw this.lost
    const seq = ++this.seq
    const frame = encodeFrame({ type: 'transfer', seq, messages })
    if (frame.byteLength > this.maxFrameBytes) {
      if (messages.length === 1) throw new MessageTooLargeError(frame.byteLength, this.maxFrameBytes, 'transfer frame')
      const half = Math.ceil(messages.length / 2)
      const [a, b] = await Promise.all([this.transfer(messages.slice(0, half)), this.transfer(messages.slice(half))])
      return [...a, ...b]
    }
    return await new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(seq)
        reject(new TransferTimeoutError(this.peer, messages, this.timeoutMs))
      }, this.timeoutMs)
      this.pending.set(seq, { messages, bytes: frame.byteLength, resolve, reject, timer })
      sendCoalesced(this.ws, frame)
    })
  }

  /**
   * Called by the transport for each transfer_ack. Late ones are ignored; one that does not name
   * each message of its transfer, in order, breaks the protocol and ends the association.
   */
  onAck (ack: TransferAckFrame): void {
    const p = this.pending.get(ack.seq)
    if (p === undefined) return
    const problem = ackProblem(ack, p.messages)
    if (problem !== undefined) {
      this.violation(new MalformedFrameError(problem))
      return
    }
    this.pending.delete(ack.seq)
    clearTimeout(p.timer)
    p.resolve(ack.results)
  }

  /**
   * The association ended: everything in flight stays queued and will be sent again. Its
   * transfers are dropped unanswered: the queue hears of the loss once, from the association's
   * end, and puts them back itself. When the
   * peer closed it for a frame too large (1009, a peer with a smaller limit), the largest frame
   * in flight is the one it refused: a single message then fails for good instead of coming
   * back forever, and the messages of a larger transfer go again one per transfer.
   */
  fail (reason: string, refusedAsTooLarge = false): void {
    if (this.lost !== undefined) return
    this.lost = new AssociationLostError(`association ${this.assocId} to ${this.peer} ended: ${reason}`)
    let largest: Pending | undefined
    if (refusedAsTooLarge) for (const p of this.pending.values()) if (largest === undefined || p.bytes > largest.bytes) largest = p
    for (const p of this.pending.values()) {
      clearTimeout(p.timer)
      if (p !== largest) continue
      if (p.messages.length === 1) p.reject(new MessageTooLargeError(p.bytes, undefined, `transfer frame refused by ${this.peer} (1009)`))
      else p.reject(new BatchTooLargeError(this.peer, p.messages.length, p.bytes))
    }
    this.pending.clear()
  }
}

/** What is wrong with an acknowledgement that does not name each message of its transfer, in order. */
function ackProblem (ack: TransferAckFrame, messages: readonly TransferMessage[]): string | undefined {
  if (ack.results.length !== messages.length) return `transfer_ack.results: ${ack.results.length} outcomes for a transfer of ${messages.length} messages`
  const i = ack.results.findIndex((r, k) => r.mtsId !== messages[k]!.envelope.mtsId)
  return i === -1 ? undefined : `transfer_ack.results[${i}].mtsId: not the MTS-ID of message ${i} of the transfer`
}
