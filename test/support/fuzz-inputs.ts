import fc from 'fast-check'
import { Packr } from 'msgpackr'
import { FRAME_TYPES } from '@xcon/core'

/** How many inputs a fuzz test tries: its CI size, times XCON_FUZZ_SCALE (which npm run fuzz -- --count N sets). */
export function fuzzCount (ciSize: number): number {
  const scale = Number(process.env.XCON_FUZZ_SCALE ?? 1)
  return Math.max(1, Math.round(ciSize * (Number.isFinite(scale) && scale > 0 ? scale : 1)))
}
/** The seed of every fuzz test; XCON_FUZZ_SEED replays another run. */
export const FUZZ_SEED = Number(process.env.XCON_FUZZ_SEED ?? 260167)

const raw = new Packr({ useRecords: false, moreTypes: true })
/** Encodes anything msgpackr can, extensions included (BigInts, Sets, Dates, typed arrays). */
export const packAny = (v: unknown): Buffer => raw.pack(v)

/** Strings an attacker likes: long, non-ASCII, control characters, empty. */
const nasty = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.string({ unit: 'binary', maxLength: 200 }),
  fc.constantFrom('€'.repeat(20), '€'.repeat(50), '€'.repeat(200), '', 'SRV-A', 'CORP', '\u0000\n\r', 'x'.repeat(5000))
)
const anyValue = fc.oneof(
  nasty, fc.integer(), fc.double(), fc.boolean(), fc.constant(null), fc.bigInt(),
  fc.uint8Array({ maxLength: 64 }), fc.array(nasty, { maxLength: 4 }), fc.dictionary(nasty, nasty, { maxKeys: 4 })
)
const envelopeLike = fc.record({
  mtsId: fc.oneof(nasty, fc.constant('c=US;a= ;p=XCON;l=SRV-A-261201000000Z-1')),
  originator: fc.oneof(nasty, fc.constant('user1@SRV-A')),
  recipients: fc.oneof(fc.array(fc.oneof(nasty, fc.constant('user1@SRV-B')), { maxLength: 5 }), anyValue),
  priority: fc.oneof(fc.constantFrom('urgent', 'normal', 'nonurgent'), anyValue),
  submitTime: fc.oneof(fc.integer(), anyValue),
  subject: fc.oneof(nasty, anyValue),
  kind: fc.oneof(fc.constantFrom('message', 'report'), anyValue),
  trace: fc.oneof(fc.array(fc.record({ server: nasty, site: nasty, arrived: fc.integer() }), { maxLength: 3 }), anyValue)
}, { requiredKeys: [] })

/** Frame-shaped maps: a known or unknown type, fields of the right name and any value. */
export const frameLike = fc.record({
  type: fc.oneof(fc.constantFrom(...FRAME_TYPES), nasty, anyValue),
  v: fc.oneof(fc.constantFrom(1, 2), anyValue),
  seq: fc.oneof(fc.nat(), anyValue),
  server: fc.oneof(fc.constantFrom('SRV-A', 'SRV-B'), nasty, anyValue),
  site: fc.oneof(fc.constant('CORP'), nasty),
  build: fc.oneof(fc.constant(2650), anyValue),
  proof: fc.oneof(fc.constant('ab'.repeat(32)), nasty),
  nonce: nasty,
  code: nasty,
  text: nasty,
  mtsId: nasty,
  duplicate: fc.oneof(fc.boolean(), anyValue),
  definite: fc.oneof(fc.boolean(), anyValue),
  envelope: fc.oneof(envelopeLike, anyValue),
  content: fc.oneof(fc.uint8Array({ maxLength: 256 }), anyValue),
  messages: fc.oneof(fc.array(fc.record({ envelope: fc.oneof(envelopeLike, anyValue), content: fc.oneof(fc.uint8Array({ maxLength: 64 }), anyValue) }, { requiredKeys: [] }), { maxLength: 4 }), anyValue),
  results: fc.oneof(fc.array(fc.record({ mtsId: nasty, outcome: fc.oneof(fc.constantFrom('accepted', 'duplicate', 'refused'), nasty), code: nasty, text: nasty, definite: fc.oneof(fc.boolean(), anyValue) }, { requiredKeys: [] }), { maxLength: 4 }), anyValue)
}, { requiredKeys: [] })

/** The inputs issue #10 found crashing an MTA, and their cousins. */
export const KNOWN_CRASHERS: Buffer[] = [
  packAny({ type: '€'.repeat(20) }),
  packAny({ type: 'bind', v: 1, server: '€'.repeat(50), site: 'CORP', build: 2650, proof: 'ab' }),
  Buffer.concat([packAny('ü'.repeat(30)), Buffer.from([0x01])]),
  Buffer.concat([Buffer.from([0xc7, 0xff, 0x42]), Buffer.alloc(255, 0x7f)]),
  packAny({ type: 'transfer', seq: 2n ** 64n, envelope: null }),
  packAny({ type: 'transfer', seq: 1, messages: [null] }),
  packAny({ type: 'transfer_ack', seq: 1, results: [] }),
  packAny({ type: 'transfer_ack', seq: 1, results: [{ mtsId: 'x', outcome: 'accepted' }, { mtsId: 'y', outcome: 'accepted' }] })
]

/** One payload for an association: raw bytes, any msgpack value, or a frame-shaped map. */
export const payload = fc.oneof(
  { weight: 2, arbitrary: fc.uint8Array({ maxLength: 300 }).map(b => Buffer.from(b)) },
  { weight: 2, arbitrary: anyValue.map(packAny) },
  { weight: 6, arbitrary: frameLike.map(packAny) }
)

/** Upgrade request paths, hostile ones first among equals. */
/** Upgrade paths that ended an MTA once, sent on every run: a connector named like a property of Object.prototype. */
export const KNOWN_CRASHER_PATHS = [...Object.getOwnPropertyNames(Object.prototype), '__proto__'].map(name => `/xcon/connector/${name}`)

export const upgradePath = fc.oneof(
  fc.constantFrom('//', '/xcon/connector/%', '/xcon/connector/%E0%A4%A', '/xcon/association?%', '/%', '/xcon/connector/' + 'a'.repeat(3000), '/xcon/association#x'),
  fc.string({ maxLength: 60 }).map(s => `/${s}`),
  fc.string({ maxLength: 40 }).map(s => `/xcon/connector/${s}`)
)
