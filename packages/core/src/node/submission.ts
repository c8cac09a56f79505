import { clip } from '../clip.js'
import type { MtaConfig } from '../config/mta-config.js'
import { MAX_ADDRESS_LENGTH, MAX_SUBJECT_LENGTH } from '../defaults.js'
import { DiskFullError, InvalidAddressError, MessageTooLargeError, TooManyRecipientsError } from '../errors.js'
import { formatMtsId, type Envelope, type Priority } from '../message.js'
import type { Clock, Intake, MailStore, QueuedMessage } from '../ports.js'
import { copiesByHop } from '../routing/decisions.js'
import { UNRECOGNISED_OR_NAME, isMailbox, unknownRecipients } from '../routing/directory.js'
import { classifyAddress } from '../routing/gwart.js'
import type { Route } from '../routing/route.js'
import type { NonDelivery } from './non-delivery.js'

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

/** The limit a message breaks (its size, or its number of recipients), the same at every door. */
export function overLimit (limits: MtaConfig['limits'], contentBytes: number, recipients: number): MessageTooLargeError | TooManyRecipientsError | undefined {
  if (contentBytes > limits.maxMessageBytes) return new MessageTooLargeError(contentBytes, limits.maxMessageBytes)
  if (recipients > limits.maxRecipients) return new TooManyRecipientsError(recipients, limits.maxRecipients)
  return undefined
}

/** One queued copy per next hop, each with its own recipients. */
export function queuedCopies (envelope: Envelope, content: Uint8Array, r: Route, now: number): Array<Omit<QueuedMessage, 'seq'>> {
  return copiesByHop(envelope, r).map(c => ({ ...c, content, transferFailures: 0, enqueuedAt: now }))
}

export interface SubmissionPorts {
  config: MtaConfig
  clock: Clock
  store: MailStore
  intake: Intake
  route: (recipients: readonly string[]) => Route
  /** Hands stored records to their queues. */
  enqueue: (records: QueuedMessage[]) => void
  nonDelivery: NonDelivery
  /** Counts clients' messages (not the MTA's own reports). */
  submitted: (count: number) => void
}

/** Accepts `count` copies of a submission; resolves with their MTS-IDs once they are durable. */
export type SubmitMail = (s: Submission, count: number) => Promise<string[]>

/**
 * The MTA's submission: it accepts `count` copies of a submission (each its own message and
 * MTS-ID) in one durable transaction, and returns their MTS-IDs only once they are queued or
 * delivered. Every door (the admin API, the IMS, the MTA's own reports) comes through here. The
 * directory first: a recipient it does not know gets an NDR, and the rest goes on.
 */
export function submission (ports: SubmissionPorts): SubmitMail {
  return async (s, count) => await submitMail(ports, s, count)
}

async function submitMail (ports: SubmissionPorts, s: Submission, count: number): Promise<string[]> {
  const { config, clock, store, intake } = ports
  const content = s.content ?? new Uint8Array(0)
  const over = overLimit(config.limits, content.byteLength, s.to.length)
  if (over !== undefined) throw over
  const originator = originatorOf(config, s)
  // What a peer's frame validator would refuse must be refused here, at the door, not loop in a queue.
  const long = [originator, ...s.to].find(a => a.length > MAX_ADDRESS_LENGTH)
  if (long !== undefined) throw new InvalidAddressError(clip(long, 60), `longer than ${MAX_ADDRESS_LENGTH} characters`)
  const now = clock.now()
  const unknown = unknownRecipients(config.topology, s.to)
  const known = unknown.length === 0 ? s.to : s.to.filter(t => !unknown.some(u => u.address === t))
  const r = ports.route(known)
  // Reports are the MTA's own mail, and the disk reserve is there for them.
  if (s.kind !== 'report') intake.assertRoom(count * (r.hops.size + r.local.length), count * r.hops.size * content.byteLength)
  const queued: Array<Omit<QueuedMessage, 'seq'>> = []
  const locals: Array<{ envelope: Envelope, mailboxes: string[] }> = []
  const envelopes: Envelope[] = []
  for (let i = 0; i < count; i++) {
    const envelope = envelopeOf(config, s, originator, now, store.nextMtsCounter())
    envelopes.push(envelope)
    queued.push(...queuedCopies(envelope, content, r, now))
    if (r.local.length > 0) locals.push({ envelope: { ...envelope, recipients: r.local.map(a => `${a}@${config.server.name}`) }, mailboxes: r.local })
  }
  let records: QueuedMessage[]
  try {
    records = await store.submit(queued, locals)
  } catch (err) {
    // Nothing of it was stored: the client is told, and may send it again.
    if (intake.writeFailed(err)) throw new DiskFullError(`the store has no room (${clip((err as Error).message)})`)
    throw err
  }
  ports.enqueue(records)
  if (s.kind !== 'report') ports.submitted(count)
  for (const envelope of envelopes) {
    for (const u of r.unroutable) {
      await ports.nonDelivery({ seq: 0, queue: '', envelope: { ...envelope, recipients: [u.recipient] }, content, transferFailures: 0, enqueuedAt: now }, 'unable-to-transfer', u.reason)
    }
    for (const u of unknown) {
      await ports.nonDelivery({ seq: 0, queue: '', envelope: { ...envelope, recipients: [u.recipient] }, content, transferFailures: 0, enqueuedAt: now }, 'unable-to-transfer', `${UNRECOGNISED_OR_NAME}: ${u.reason}`)
    }
  }
  return envelopes.map(e => e.mtsId)
}

/** The originator's canonical address: an Internet sender as given, else a mailbox of this server. */
function originatorOf (config: MtaConfig, s: Submission): string {
  if (s.external === true) return classifyAddress(config.topology, s.from).canonical
  const from = s.from.includes('@') ? classifyAddress(config.topology, s.from) : { kind: 'internal' as const, alias: s.from.toLowerCase(), server: config.server.name }
  if (from.kind !== 'internal' || from.server !== config.server.name) throw new InvalidAddressError(s.from, `the originator must have a mailbox on ${config.server.name}`)
  if (!isMailbox(config.topology, config.server.name, from.alias)) {
    throw new InvalidAddressError(s.from, `${from.alias} is not a mailbox of ${config.server.name} (it has ${clip(config.server.mailboxes.join(', '), 200)})`)
  }
  return `${from.alias}@${config.server.name}`
}

function envelopeOf (config: MtaConfig, s: Submission, originator: string, now: number, counter: number): Envelope {
  return {
    mtsId: formatMtsId(config.organization, config.server.name, now, counter),
    originator,
    recipients: s.to.map(t => classifyAddress(config.topology, t).canonical),
    priority: s.priority ?? 'normal',
    submitTime: now,
    subject: (s.subject ?? '').slice(0, MAX_SUBJECT_LENGTH),
    kind: s.kind ?? 'message',
    trace: [{ server: config.server.name, site: config.site.name, arrived: now }],
    ...(s.format === undefined ? {} : { format: s.format })
  }
}
