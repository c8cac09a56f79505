import type { Topology } from '../topology/topology.js'
import { classifyAddress, hopKey, nextHop, type NextHop } from './gwart.js'

/** Where the recipients of one message go from one server. */
export interface Route {
  /** Mailboxes on this server (aliases). */
  local: string[]
  /** Recipients by next-hop queue: one copy of the message per queue, with its recipients. */
  hops: Map<string, { hop: NextHop, recipients: string[] }>
  /** Recipients that cannot be routed, with the reason. */
  unroutable: Array<{ recipient: string, reason: string }>
}

/**
 * Routes recipients from `fromServer` (see nextHop). Throws InvalidAddressError for an address
 * that is not one; `down` names connectors to avoid while others remain, and `serverDown` the
 * servers of this site that cannot be reached, so that a bridgehead among them is avoided too.
 */
export function route (topology: Topology, fromServer: string, recipients: readonly string[], down?: (connector: string) => boolean, serverDown?: (server: string) => boolean): Route {
  const result: Route = { local: [], hops: new Map(), unroutable: [] }
  for (const r of recipients) {
    const recipient = classifyAddress(topology, r)
    const hop = nextHop(topology, fromServer, recipient, down, serverDown)
    if (hop.kind === 'local' && recipient.kind === 'internal') result.local.push(recipient.alias)
    else if (hop.kind === 'unroutable') result.unroutable.push({ recipient: recipient.canonical, reason: hop.reason })
    else {
      const key = hopKey(hop)
      const entry = result.hops.get(key) ?? { hop, recipients: [] }
      entry.recipients.push(recipient.canonical)
      result.hops.set(key, entry)
    }
  }
  return result
}
