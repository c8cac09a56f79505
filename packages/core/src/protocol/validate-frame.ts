import { MAX_ADDRESS_LENGTH, MAX_HOPS, MAX_RECIPIENTS, MAX_SUBJECT_LENGTH, MAX_TRANSFER_MESSAGES } from '../defaults.js'
import { MalformedFrameError } from '../errors.js'
import { PRIORITIES, type Envelope, type Hop } from '../message.js'
import { FRAME_TYPES, type Frame, type FrameType } from './frames.js'

/** Length limits of frame strings: names (server, site, code), proofs and nonces, free text, subjects. */
const NAME = 64
const PROOF = 128
const TEXT = 1024
const SUBJECT = MAX_SUBJECT_LENGTH

/**
 * Checks a decoded value against the frame shapes and returns it typed, or throws
 * MalformedFrameError naming the first field that is wrong (`transfer.envelope.recipients[1]: …`).
 * Every frame from the network passes through here before anything reads it.
 */
export function validateFrame (value: unknown): Frame {
  const obj = record(value, 'frame')
  const type = obj.type
  if (typeof type !== 'string' || !FRAME_TYPES.includes(type as FrameType)) {
    throw new MalformedFrameError(`frame.type: expected one of ${FRAME_TYPES.join(', ')}, got ${describe(type)}`)
  }
  const at = (field: string): string => `${type}.${field}`
  switch (type as FrameType) {
    case 'challenge':
      num(obj.v, at('v')); str(obj.server, at('server'), NAME); str(obj.nonce, at('nonce'), PROOF)
      break
    case 'bind':
      num(obj.v, at('v')); str(obj.server, at('server'), NAME); str(obj.site, at('site'), NAME); num(obj.build, at('build')); str(obj.proof, at('proof'), PROOF)
      break
    case 'bind_ok':
      str(obj.server, at('server'), NAME); str(obj.site, at('site'), NAME); num(obj.build, at('build')); str(obj.proof, at('proof'), PROOF)
      break
    case 'bind_error':
      str(obj.code, at('code'), NAME); str(obj.text, at('text'), TEXT)
      break
    case 'transfer': {
      num(obj.seq, at('seq'))
      const messages = list(obj.messages, at('messages'), MAX_TRANSFER_MESSAGES)
      if (messages.length === 0) throw new MalformedFrameError(`${at('messages')}: expected at least one message`)
      messages.forEach((m, i) => {
        const msg = record(m, `${at('messages')}[${i}]`)
        envelope(msg.envelope, `${at('messages')}[${i}].envelope`); bytes(msg.content, `${at('messages')}[${i}].content`)
      })
      break
    }
    case 'transfer_ack':
      num(obj.seq, at('seq'))
      list(obj.results, at('results'), MAX_TRANSFER_MESSAGES).forEach((r, i) => outcome(r, `${at('results')}[${i}]`))
      break
  }
  return obj as unknown as Frame
}

/** Checks an envelope (also used for messages submitted through the admin API). */
export function envelope (value: unknown, path: string): Envelope {
  const e = record(value, path)
  str(e.mtsId, `${path}.mtsId`, TEXT)
  str(e.originator, `${path}.originator`, MAX_ADDRESS_LENGTH)
  const recipients = list(e.recipients, `${path}.recipients`, MAX_RECIPIENTS)
  if (recipients.length === 0) throw new MalformedFrameError(`${path}.recipients: expected at least one recipient`)
  recipients.forEach((r, i) => str(r, `${path}.recipients[${i}]`, MAX_ADDRESS_LENGTH))
  if (!PRIORITIES.includes(e.priority as never)) {
    throw new MalformedFrameError(`${path}.priority: expected one of ${PRIORITIES.join(', ')}, got ${describe(e.priority)}`)
  }
  num(e.submitTime, `${path}.submitTime`)
  if (typeof e.subject !== 'string') throw new MalformedFrameError(`${path}.subject: expected a string, got ${describe(e.subject)}`)
  if (e.subject.length > SUBJECT) throw new MalformedFrameError(`${path}.subject: longer than ${SUBJECT} characters`)
  if (e.kind !== 'message' && e.kind !== 'report') throw new MalformedFrameError(`${path}.kind: expected message or report, got ${describe(e.kind)}`)
  list(e.trace, `${path}.trace`, MAX_HOPS + 1).forEach((h, i) => hop(h, `${path}.trace[${i}]`))
  if (e.format !== undefined && e.format !== 'rfc822') throw new MalformedFrameError(`${path}.format: expected rfc822 or nothing, got ${describe(e.format)}`)
  return e as unknown as Envelope
}

function outcome (value: unknown, path: string): void {
  const o = record(value, path)
  str(o.mtsId, `${path}.mtsId`, TEXT)
  if (o.outcome === 'refused') {
    str(o.code, `${path}.code`, NAME); str(o.text, `${path}.text`, TEXT); bool(o.definite, `${path}.definite`)
  } else if (o.outcome !== 'accepted' && o.outcome !== 'duplicate') {
    throw new MalformedFrameError(`${path}.outcome: expected accepted, duplicate or refused, got ${describe(o.outcome)}`)
  }
}

function hop (value: unknown, path: string): Hop {
  const h = record(value, path)
  str(h.server, `${path}.server`, NAME); str(h.site, `${path}.site`, NAME); num(h.arrived, `${path}.arrived`)
  return h as unknown as Hop
}

function record (value: unknown, path: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value) || value instanceof Uint8Array) {
    throw new MalformedFrameError(`${path}: expected a map, got ${describe(value)}`)
  }
  return value as Record<string, unknown>
}
function list (value: unknown, path: string, max: number): unknown[] {
  if (!Array.isArray(value)) throw new MalformedFrameError(`${path}: expected a list, got ${describe(value)}`)
  if (value.length > max) throw new MalformedFrameError(`${path}: more than ${max} entries (${value.length})`)
  return value
}
function str (value: unknown, path: string, max: number): void {
  if (typeof value !== 'string' || value.length === 0) throw new MalformedFrameError(`${path}: expected a non-empty string, got ${describe(value)}`)
  if (value.length > max) throw new MalformedFrameError(`${path}: longer than ${max} characters`)
}
function num (value: unknown, path: string): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new MalformedFrameError(`${path}: expected a number, got ${describe(value)}`)
}
function bool (value: unknown, path: string): void {
  if (typeof value !== 'boolean') throw new MalformedFrameError(`${path}: expected true or false, got ${describe(value)}`)
}
function bytes (value: unknown, path: string): void {
  if (!(value instanceof Uint8Array)) throw new MalformedFrameError(`${path}: expected binary content, got ${describe(value)}`)
}
/** A short, bounded picture of a value from the network: never more than about 50 characters. */
function describe (value: unknown): string {
  if (value === undefined) return 'nothing'
  if (value === null) return 'null'
  if (Array.isArray(value)) return 'a list'
  if (value instanceof Uint8Array) return 'binary'
  if (typeof value === 'string') return JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}…` : value)
  if (typeof value === 'object') return 'a map'
  const text = String(value)
  return `${typeof value} ${text.length > 24 ? `${text.slice(0, 24)}…` : text}`
}
