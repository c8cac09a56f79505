import type { Envelope, Priority } from '../message.js'

/** A message as a client submits it. */
export interface Submission {
  /** Alias on this server, or alias@THIS-SERVER; with `external`, an Internet address (mail in over SMTP). */
  from: string
  to: string[]
  subject?: string
  content?: Uint8Array
  priority?: Priority
  kind?: Envelope['kind']
  format?: 'rfc822'
  external?: boolean
}

export type MtaState = 'starting' | 'running' | 'stopping' | 'stopped'
