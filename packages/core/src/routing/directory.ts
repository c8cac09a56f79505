import type { Topology } from '../topology/topology.js'
import { NO_IMS_REASON, classifyAddress } from './gwart.js'

/** Mailboxes every server has besides those of the topology: the CLI's default sender and the report senders. */
export const SERVICE_MAILBOXES = ['administrator', 'postmaster', 'system-attendant']

/** X.400's diagnostic for a recipient the directory does not know (Exchange: "The recipient name is not recognized"). */
export const UNRECOGNISED_OR_NAME = 'unrecognised-OR-name'

/** Whether `alias` is a mailbox of `server`: one of its `mailboxes`, or a service mailbox. */
export function isMailbox (topology: Topology, server: string, alias: string): boolean {
  const a = alias.toLowerCase()
  return SERVICE_MAILBOXES.includes(a) || (topology.servers[server]?.mailboxes ?? []).some(m => m.toLowerCase() === a)
}

/**
 * The recipients of the organisation that the directory does not know: an alias that is no
 * mailbox of its server. Exchange's directory is replicated to every server, so the submitting
 * MTA knows at once and answers with a non-delivery report (unrecognised-OR-name), as Exchange
 * did; the IMS refuses them in RCPT (550 5.1.1). Internet addresses are not the directory's.
 * Each comes with the address as given, so that a caller can leave it out without reading it again.
 * Throws InvalidAddressError for an address that is not one.
 */
export function unknownRecipients (topology: Topology, recipients: readonly string[]): Array<{ address: string, recipient: string, reason: string }> {
  const unknown: Array<{ address: string, recipient: string, reason: string }> = []
  for (const address of recipients) {
    const r = classifyAddress(topology, address)
    if (r.kind !== 'internal' || isMailbox(topology, r.server, r.alias)) continue
    const has = topology.servers[r.server]!.mailboxes
    unknown.push({ address, recipient: r.canonical, reason: `no mailbox ${r.alias} on ${r.server} (it has ${has.slice(0, 5).join(', ')}${has.length > 5 ? ` and ${has.length - 5} more` : ''})` })
  }
  return unknown
}

/**
 * What the submitter can be told at once will get a non-delivery report: the recipients the
 * directory does not know, and Internet addresses when no server of the organisation runs an
 * Internet Mail Service, since no route can ever reach them. Failures that may pass (a connector
 * down) are not here: their mail waits and is retried.
 */
export function undeliverableRecipients (topology: Topology, recipients: readonly string[]): Array<{ address: string, recipient: string, reason: string }> {
  const out = unknownRecipients(topology, recipients)
  if (Object.values(topology.servers).some(s => s.ims !== undefined)) return out
  for (const address of recipients) {
    const r = classifyAddress(topology, address)
    if (r.kind !== 'internal') out.push({ address, recipient: address, reason: `${address} is an Internet address, and ${NO_IMS_REASON} (add an ims: to a server of the topology)` })
  }
  return out
}
