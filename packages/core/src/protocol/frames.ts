import type { Envelope } from '../message.js'

/**
 * The frames of an association, one interface per type. The listening side speaks first with a
 * challenge; the calling side binds with a proof of the site secret; the listener answers with a
 * proof of its own (the bind-back, Q303156) or a bind_error. Then the caller sends transfers and the
 * listener acknowledges each after it is durably stored. A WebSocket close with code 1000 is a clean
 * release. See docs/protocol.md.
 */
export const PROTOCOL_VERSION = 1

export interface ChallengeFrame { type: 'challenge'; v: number; server: string; nonce: string }
export interface BindFrame { type: 'bind'; v: number; server: string; site: string; build: number; proof: string }
export interface BindOkFrame { type: 'bind_ok'; server: string; site: string; build: number; proof: string }
export interface BindErrorFrame { type: 'bind_error'; code: string; text: string }
export interface TransferFrame { type: 'transfer'; seq: number; envelope: Envelope; content: Uint8Array }
export interface TransferOkFrame { type: 'transfer_ok'; seq: number; mtsId: string; duplicate: boolean }
export interface TransferErrorFrame { type: 'transfer_error'; seq: number; mtsId: string; code: string; text: string; definite: boolean }

export type Frame =
  | ChallengeFrame | BindFrame | BindOkFrame | BindErrorFrame
  | TransferFrame | TransferOkFrame | TransferErrorFrame
export type FrameType = Frame['type']
export const FRAME_TYPES: readonly FrameType[] = ['challenge', 'bind', 'bind_ok', 'bind_error', 'transfer', 'transfer_ok', 'transfer_error']
