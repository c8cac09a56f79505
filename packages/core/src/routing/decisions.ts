import { MAX_HOPS } from '../defaults.js'
import type { Envelope } from '../message.js'
import type { Topology } from '../topology/topology.js'
import type { Route } from './route.js'

/**
 * The MTA's routing decisions as pure functions: submission and the inbound transfer route (route.ts), asks these what
 * to do, and does the I/O. Each takes what it decides on and nothing else.
 */

/** One copy of a message per next-hop queue, with that hop's recipients (Exchange fans a message out per route). */
export function copiesByHop (envelope: Envelope, r: Route): Array<{ queue: string, envelope: Envelope }> {
  return [...r.hops].map(([queue, { recipients }]) => ({ queue, envelope: { ...envelope, recipients } }))
}

/**
 * Whether a transfer from a peer may be taken: not a loop (this server is in its trace, or it
 * has passed MAX_HOPS servers: Q181948's rerouting loops grew the P1 header until the disk
 * filled), and every recipient routable. Taken: the envelope with this hop added to its trace, and its route.
 */
export function acceptInbound (envelope: Envelope, here: { server: string, site: string }, r: Route | Error, now: number):
{ ok: true, arrived: Envelope, route: Route } | { ok: false, code: string, text: string } {
  if (envelope.trace.some(h => h.server === here.server) || envelope.trace.length >= MAX_HOPS) {
    return { ok: false, code: 'XCON_ERR_LOOP_DETECTED', text: `${envelope.mtsId} has been here before (${envelope.trace.map(h => h.server).join(' > ')})` }
  }
  if (r instanceof Error) return { ok: false, code: 'XCON_ERR_INVALID_ADDRESS', text: r.message }
  if (r.unroutable.length > 0) return { ok: false, code: 'XCON_ERR_NO_ROUTE', text: r.unroutable.map(u => `${u.recipient}: ${u.reason}`).join('; ') }
  return { ok: true, route: r, arrived: { ...envelope, trace: [...envelope.trace, { server: here.server, site: here.site, arrived: now }] } }
}

/**
 * Where a message waiting on queue `from` goes when that route fails: the one other queue its
 * recipients now route to, or undefined when it stays (it has local or unroutable recipients,
 * it would split over several queues, or it routes to the same queue again).
 */
export function rerouteTarget (r: Route, from: string): string | undefined {
  if (r.hops.size !== 1 || r.local.length > 0 || r.unroutable.length > 0) return undefined
  const [only] = r.hops.keys()
  return only === from ? undefined : only
}

/** The report a non-delivery produces for the originator; none for a report (a report is never answered with another). */
export function nonDeliveryReport (envelope: Envelope, reason: string, diagnostic: string): { to: string, subject: string, text: string } | undefined {
  if (envelope.kind === 'report') return undefined
  const lines = envelope.recipients.map(r => `  ${r} (reason ${reason}, diagnostic ${diagnostic}, MTS-ID ${envelope.mtsId})`).join('\n')
  return {
    to: envelope.originator,
    subject: `Undeliverable: ${envelope.subject}`,
    text: `Your message\n\n  Subject: ${envelope.subject}\n  Sent: ${new Date(envelope.submitTime).toISOString()}\n\ndid not reach the following recipient(s):\n\n${lines}\n`
  }
}

/**
 * Whether a queue may hold mail that another route could carry: a connector's queue, or the
 * queue to a server of this site that relays for others (a connector's bridgehead, or an IMS).
 * The queue to any other server holds only mail for that server's mailboxes, which no other
 * route reaches: rerouting it would read the whole backlog at every failed open for nothing.
 */
export function mayReroute (topology: Topology, queueKey: string): boolean {
  if (!queueKey.startsWith('server:')) return true
  const server = queueKey.slice('server:'.length)
  if (topology.servers[server]?.ims !== undefined) return true
  return Object.values(topology.connectors).some(c => Object.values(c.bridgeheads).some(list => list.includes(server)))
}
