import type { Envelope } from '../message.js'

/**
 * The frames of an association, one interface per type. The listening side speaks first with a
 * challenge; the calling side binds with a proof of the site secret; the listener answers with a
 * proof of its own (the bind-back, Q303156) or a bind_error. Then the caller sends transfers of
 * several messages each, and the listener acknowledges each transfer in one frame, after it is
 * durably stored, with one outcome per message. A WebSocket close with code 1000 is a clean
 * release. See docs/protocol.md.
 */
/** Version 2: transfers carry several messages. Version 1 (one message per transfer) is refused. */
export const PROTOCOL_VERSION = 2

export interface ChallengeFrame { type: 'challenge'; v: number; server: string; nonce: string }
export interface BindFrame { type: 'bind'; v: number; server: string; site: string; build: number; proof: string }
export interface BindOkFrame { type: 'bind_ok'; server: string; site: string; build: number; proof: string }
export interface BindErrorFrame { type: 'bind_error'; code: string; text: string }
/** One message of a transfer. */
export interface TransferMessage { envelope: Envelope; content: Uint8Array }
export interface TransferFrame { type: 'transfer'; seq: number; messages: readonly TransferMessage[] }
/** What the listener did with one message of a transfer: each is answered on its own, so one bad message fails none of the rest. */
export type TransferOutcome =
  | { mtsId: string; outcome: 'accepted' }
  | { mtsId: string; outcome: 'duplicate' }
  | { mtsId: string; outcome: 'refused'; code: string; text: string; definite: boolean }
/** The answer to one transfer: an outcome per message, in the transfer's order. */
export interface TransferAckFrame { type: 'transfer_ack'; seq: number; results: TransferOutcome[] }

export type Frame =
  | ChallengeFrame | BindFrame | BindOkFrame | BindErrorFrame
  | TransferFrame | TransferAckFrame
export type FrameType = Frame['type']
export const FRAME_TYPES: readonly FrameType[] = ['challenge', 'bind', 'bind_ok', 'bind_error', 'transfer', 'transfer_ack']
