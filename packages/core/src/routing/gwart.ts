import { InvalidAddressError } from '../errors.js'
import { connectorsOf, otherSite, type ConnectorSpec, type Topology } from '../topology/topology.js'

/** A recipient as the router sees it: a mailbox of the organisation, or an Internet address. */
export type Recipient =
  | { kind: 'internal', alias: string, server: string, canonical: string }
  | { kind: 'external', canonical: string }

/** Where an MTA passes a recipient next. Each kind but `local` and `unroutable` is one queue. */
export type NextHop =
  | { kind: 'local' }
  | { kind: 'intra-site', server: string }
  | { kind: 'connector', connector: string }
  | { kind: 'ims' }
  | { kind: 'unroutable', reason: string }

/**
 * Reads an address: `alias@SERVER` (any case), the SMTP form `alias@<server>.<domain>`, or an
 * Internet address `someone@some.domain`. Throws InvalidAddressError for anything else.
 */
export function classifyAddress (topology: Topology, address: string): Recipient {
  const m = /^([A-Za-z0-9._+-]+)@([A-Za-z0-9.-]+)$/.exec(address.trim())
  if (m === null) throw new InvalidAddressError(address, 'expected alias@SERVER, alias@server.domain or an Internet address')
  const alias = m[1]!.toLowerCase()
  const host = m[2]!.toLowerCase()
  const byName = (name: string): string | undefined => Object.keys(topology.servers).find(n => n.toLowerCase() === name)
  let server = byName(host)
  if (server === undefined && host.endsWith(`.${topology.domain}`)) server = byName(host.slice(0, -topology.domain.length - 1))
  if (server !== undefined) return { kind: 'internal', alias, server, canonical: `${alias}@${server}` }
  if (host.includes('.') && host !== topology.domain) return { kind: 'external', canonical: `${alias}@${host}` }
  throw new InvalidAddressError(address, `no server ${m[2]} in the organisation (servers: ${Object.keys(topology.servers).join(', ')})`)
}

/** The SMTP address of a mailbox: alias@<server in lower case>.<domain>. */
export function smtpAddress (topology: Topology, alias: string, server: string): string {
  return `${alias}@${server.toLowerCase()}.${topology.domain}`
}

/** Cheapest total cost from every site to `target` over the connectors (Dijkstra; sites are few). */
function costsTo (topology: Topology, target: string): Map<string, number> {
  const dist = new Map<string, number>([[target, 0]])
  const open = new Set(Object.keys(topology.sites))
  while (open.size > 0) {
    let best: string | undefined
    for (const s of open) if (dist.has(s) && (best === undefined || dist.get(s)! < dist.get(best)!)) best = s
    if (best === undefined) break
    open.delete(best)
    for (const c of connectorsOf(topology, best)) {
      const next = otherSite(c, best)
      const d = dist.get(best)! + c.cost
      if (d < (dist.get(next) ?? Infinity)) dist.set(next, d)
    }
  }
  return dist
}

/**
 * The connectors of `fromSite` that lead to `toSite`, cheapest total path first (the GWART's
 * choice). `down` connectors go last, so that mail falls back to the next one while they fail.
 */
export function connectorRoutes (topology: Topology, fromSite: string, toSite: string, down: (connector: string) => boolean = () => false): ConnectorSpec[] {
  const dist = costsTo(topology, toSite)
  return connectorsOf(topology, fromSite)
    .map(c => ({ c, total: c.cost + (dist.get(otherSite(c, fromSite)) ?? Infinity) }))
    .filter(r => Number.isFinite(r.total))
    .sort((a, b) => (Number(down(a.c.name)) - Number(down(b.c.name))) || (a.total - b.total) || a.c.name.localeCompare(b.c.name))
    .map(r => r.c)
}

/**
 * Next hop from `from` to a server of the organisation. Each connector is tried in the GWART's
 * order; one this server is a bridgehead of is usable while its own queue is not `down`, and
 * one it is not is usable through a bridgehead of its site whose intra-site queue is not
 * `serverDown`. When every route fails, the cheapest is kept, to wait for its next open retry.
 * This is Exchange's rerouting (Exchange 5.5 queues: "messages can also be rerouted while the MTA
 * runs, if the target does not accept delivery"): a bridgehead that cannot be reached, because
 * it is down or because this MTA has leaked its intra-site control blocks (Q260167), must not
 * hold mail that another connector of this server can carry. KB Q260167: connectors between
 * sites are not affected.
 */
function hopToServer (topology: Topology, from: string, to: string, down: (connector: string) => boolean, serverDown: (server: string) => boolean): NextHop {
  if (to === from) return { kind: 'local' }
  const fromSite = topology.servers[from]!.site
  const toSite = topology.servers[to]!.site
  if (fromSite === toSite) return { kind: 'intra-site', server: to }
  const routes = connectorRoutes(topology, fromSite, toSite, down)
  if (routes.length === 0) return { kind: 'unroutable', reason: `no connector from site ${fromSite} leads to site ${toSite}` }
  // A bridgehead sends over the connector; any other server passes the mail to a bridgehead of its site.
  const via = (c: ConnectorSpec, mustWork: boolean): NextHop | undefined => {
    const ours = c.bridgeheads[fromSite]!
    if (ours.includes(from)) return !mustWork || !down(c.name) ? { kind: 'connector', connector: c.name } : undefined
    const reachable = ours.find(b => !serverDown(b))
    if (reachable !== undefined) return { kind: 'intra-site', server: reachable }
    return mustWork ? undefined : { kind: 'intra-site', server: ours[0]! }
  }
  for (const c of routes) {
    const hop = via(c, true)
    if (hop !== undefined) return hop
  }
  return via(routes[0]!, false)!
}

/** Why Internet mail cannot go in an organisation that has no Internet Mail Service. */
export const NO_IMS_REASON = 'the organisation has no Internet Mail Service'

/**
 * The next hop for one recipient: the same server delivers, the same site goes direct over one
 * association (Q158633), another site goes over the cheapest connector that is not down, via a
 * bridgehead of this site that is not down if need be, and the Internet goes to the nearest Internet Mail Service.
 */
export function nextHop (topology: Topology, from: string, recipient: Recipient, down: (connector: string) => boolean = () => false, serverDown: (server: string) => boolean = () => false): NextHop {
  if (recipient.kind === 'internal') return hopToServer(topology, from, recipient.server, down, serverDown)
  if (topology.servers[from]!.ims !== undefined) return { kind: 'ims' }
  const site = topology.servers[from]!.site
  const imsServers = Object.values(topology.servers).filter(s => s.ims !== undefined)
  if (imsServers.length === 0) return { kind: 'unroutable', reason: NO_IMS_REASON }
  const near = imsServers.find(s => s.site === site) ?? imsServers[0]!
  return hopToServer(topology, from, near.name, down, serverDown)
}

/** A queue's key for a next hop: one queue per server of the site, per connector, and the IMS's. */
export function hopKey (hop: NextHop): string {
  switch (hop.kind) {
    case 'intra-site': return `server:${hop.server}`
    case 'connector': return `connector:${hop.connector}`
    default: return hop.kind
  }
}
