import { BadRequestBodyError, InvalidStreamError, InvalidToxicTypeError } from '../errors.js'

/**
 * Toxiproxy's toxics (its toxics/*.go), with its attribute names and units: milliseconds unless
 * said otherwise, bandwidth in KB per second, the slicer's delay in microseconds.
 */
export const TOXIC_ATTRIBUTES = {
  latency: ['latency', 'jitter'],
  bandwidth: ['rate'],
  slow_close: ['delay'],
  timeout: ['timeout'],
  reset_peer: ['timeout'],
  slicer: ['average_size', 'size_variation', 'delay'],
  limit_data: ['bytes']
} as const

export type ToxicType = keyof typeof TOXIC_ATTRIBUTES
export const TOXIC_TYPES = Object.keys(TOXIC_ATTRIBUTES) as ToxicType[]

/**
 * Which bytes a toxic acts on, as Toxiproxy names them: `upstream` is client to server (the
 * bytes the calling MTA sends), `downstream` server to client (its peer's answers). `both` is
 * xcon's: one toxic on both streams of the link.
 */
export type ToxicStream = 'upstream' | 'downstream' | 'both'

export interface Toxic {
  name: string
  type: ToxicType
  stream: ToxicStream
  /** The chance that the toxic acts on a given connection, drawn per connection (Toxiproxy's meaning). */
  toxicity: number
  attributes: Record<string, number>
}

/** Timers in Node hold at most 2^31 - 1 ms; every time attribute is bounded by it. */
const MAX_ATTRIBUTE = 2_147_483_647
const MAX_NAME = 200

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

function attributesOf (type: ToxicType, given: unknown, base: Record<string, number>): Record<string, number> {
  if (given !== undefined && !isObject(given)) throw new BadRequestBodyError('attributes must be an object')
  const out: Record<string, number> = {}
  for (const key of TOXIC_ATTRIBUTES[type]) {
    const v = given?.[key] ?? base[key] ?? 0
    if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > MAX_ATTRIBUTE) {
      throw new BadRequestBodyError(`attributes.${key} of a ${type} toxic must be a whole number from 0 to ${MAX_ATTRIBUTE}, got ${JSON.stringify(v)}`)
    }
    out[key] = v
  }
  return out
}

function toxicityOf (v: unknown, fallback: number): number {
  if (v === undefined) return fallback
  if (typeof v !== 'number' || !(v >= 0 && v <= 1)) throw new BadRequestBodyError(`toxicity must be a number from 0 to 1, got ${JSON.stringify(v)}`)
  return v
}

/**
 * A toxic from a request body, with Toxiproxy's defaults: stream downstream, toxicity 1, name
 * `<type>_<stream>`, attributes 0 where not given. Unknown attributes are ignored, as Toxiproxy's
 * JSON decoding does.
 */
export function parseToxic (body: unknown): Toxic {
  if (!isObject(body)) throw new BadRequestBodyError('expected a JSON object')
  const type = body.type
  if (typeof type !== 'string' || !(TOXIC_TYPES as string[]).includes(type)) throw new InvalidToxicTypeError(String(type), TOXIC_TYPES)
  const stream = body.stream ?? 'downstream'
  if (stream !== 'upstream' && stream !== 'downstream' && stream !== 'both') throw new InvalidStreamError(String(stream))
  const name = body.name === undefined || body.name === '' ? `${type}_${stream}` : body.name
  if (typeof name !== 'string' || name.length > MAX_NAME || /[\u0000-\u001f/]/.test(name)) {
    throw new BadRequestBodyError(`name must be a string of at most ${MAX_NAME} characters with no "/" or control characters`)
  }
  return { name, type: type as ToxicType, stream, toxicity: toxicityOf(body.toxicity, 1), attributes: attributesOf(type as ToxicType, body.attributes, {}) }
}

/** A toxic changed as Toxiproxy's update does: the given attributes and toxicity replace the old ones; name, type and stream stay. */
export function updateToxic (toxic: Toxic, body: unknown): Toxic {
  if (!isObject(body)) throw new BadRequestBodyError('expected a JSON object')
  return { ...toxic, toxicity: toxicityOf(body.toxicity, toxic.toxicity), attributes: attributesOf(toxic.type, body.attributes, toxic.attributes) }
}

/** Whether a toxic acts on the bytes of `direction`. */
export function actsOn (toxic: Toxic, direction: 'upstream' | 'downstream'): boolean {
  return toxic.stream === direction || toxic.stream === 'both'
}

/** One line for logs and histories: "timeout_downstream (type timeout, timeout=0, downstream, toxicity 1)". */
export function describeToxic (t: Toxic): string {
  const attrs = Object.entries(t.attributes).map(([k, v]) => `, ${k}=${v}`).join('')
  return `${t.name} (type ${t.type}${attrs}, ${t.stream}, toxicity ${t.toxicity})`
}
