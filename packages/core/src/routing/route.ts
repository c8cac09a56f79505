import type { Topology } from '../topology/topology.js'
import { formatAddress, resolveAddress } from './address.js'

/** Where the recipients of one message go from one server. */
export interface Route {
  /** Recipients with a mailbox on this server. */
  local: string[]
  /** Recipients on other servers of this site, by server: one intra-site queue each (Q158633). */
  intraSite: Map<string, string[]>
  /** Recipients xcon cannot reach yet (another site with no connector), with the reason. */
  unroutable: Array<{ recipient: string, reason: string }>
}

/**
 * Routes recipients from `fromServer`: the same server delivers locally, the same site goes
 * direct over one association (single-hop routing within a site). Recipients must be valid
 * addresses; resolveAddress throws for the others.
 */
export function route (topology: Topology, fromServer: string, recipients: readonly string[]): Route {
  const here = topology.servers[fromServer]!
  const result: Route = { local: [], intraSite: new Map(), unroutable: [] }
  for (const r of recipients) {
    const addr = resolveAddress(topology, r)
    const canonical = formatAddress(addr)
    const there = topology.servers[addr.server]!
    if (addr.server === fromServer) result.local.push(canonical)
    else if (there.site === here.site) result.intraSite.set(addr.server, [...(result.intraSite.get(addr.server) ?? []), canonical])
    else result.unroutable.push({ recipient: canonical, reason: `no connector from site ${here.site} to site ${there.site}` })
  }
  return result
}
