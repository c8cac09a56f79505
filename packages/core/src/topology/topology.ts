import type { Build } from '../builds.js'
import type { FailureKind } from '../association/association.events.js'
import type { Priority } from '../message.js'

/** Generated traffic of one MTA: messages per second to random mailboxes of its site. */
export interface TrafficSpec {
  /** Messages per second; 0 is off. */
  rate: number
  /** Content size in bytes. */
  size: number
  priority: Priority
}

/** Everything one server needs that may differ from its neighbours. */
export interface ServerSpec {
  name: string
  site: string
  build: Build
  timeScale: number
  controlBlocks: number
  traffic: TrafficSpec
  leak: { kinds: FailureKind[], probability: number, seed: number | undefined }
  queueAlarm: number
  mailboxes: string[]
  /** Where peers reach this MTA's associations. */
  host: string
  port: number | undefined
  /** Where the MTA serves GET /status; loopback unless told otherwise. */
  adminHost: string
  adminPort: number | undefined
  /** An Internet Mail Service on this server, if it runs one. */
  ims: ImsSpec | undefined
}

/** An Internet Mail Service: an SMTP listener into the organisation and SMTP delivery out of it. */
export interface ImsSpec {
  host: string
  /** SMTP listener port; `xcon up` picks a free one when absent. */
  port: number | undefined
  /** host:port of the smart host that takes mail for the Internet; none: such mail is answered with an NDR. */
  smartHost: string | undefined
}

export const CONNECTOR_TYPES = ['x400', 'site'] as const
export type ConnectorType = typeof CONNECTOR_TYPES[number]

/**
 * A connector between two sites. An X.400 Connector joins one bridgehead on each side; a Site
 * Connector lets any server of either site (or the bridgeheads named) reach the other site.
 */
export interface ConnectorSpec {
  name: string
  type: ConnectorType
  sites: [string, string]
  /** Per site, the servers that may carry the connector's associations. */
  bridgeheads: Record<string, string[]>
  cost: number
  /** Proved on bind, like a site secret (the X.400 connector's MTA password). */
  secret: string
  /** What the connector routes, as the Address Space tab shows it (informational). */
  addressSpace: string
}

export interface SiteSpec {
  name: string
  secret: string
  servers: string[]
}

/** A parsed and validated topology: every server fully resolved against the defaults. */
export interface Topology {
  organization: string
  /** SMTP domain: an IMS takes alias@<server in lower case>.<domain> for alias@SERVER. */
  domain: string
  /** Bearer token every MTA's admin API asks for (XCON_ADMIN_TOKEN wins); absent: none. */
  adminToken?: string
  sites: Record<string, SiteSpec>
  servers: Record<string, ServerSpec>
  connectors: Record<string, ConnectorSpec>
}

/** The connectors of a site, and the servers of that site that carry each. */
export function connectorsOf (topology: Topology, site: string): ConnectorSpec[] {
  return Object.values(topology.connectors).filter(c => c.sites.includes(site))
}

/** The site across a connector from `site`. */
export function otherSite (connector: ConnectorSpec, site: string): string {
  return connector.sites[0] === site ? connector.sites[1] : connector.sites[0]
}

/** Named traffic levels. `light` is one message every two seconds per MTA. Design choice. */
export const TRAFFIC_LEVELS: Record<string, number> = { off: 0, light: 0.5, moderate: 5, heavy: 50 }
export const DEFAULT_CONTENT_BYTES = 1024
export const DEFAULT_MAILBOX_COUNT = 10
/** Exchange server names are NetBIOS computer names: at most 15 characters. */
export const SERVER_NAME = /^[A-Za-z0-9][A-Za-z0-9-]{0,14}$/

/** Sites of a topology in file order, servers of each in file order. */
export function allServers (topology: Topology): ServerSpec[] {
  return Object.values(topology.sites).flatMap(site => site.servers.map(name => topology.servers[name]!))
}

/** The other servers of the same site: the peers of intra-site associations. */
export function sitePeers (topology: Topology, server: string): ServerSpec[] {
  const spec = topology.servers[server]
  if (spec === undefined) return []
  return topology.sites[spec.site]!.servers.filter(n => n !== server).map(n => topology.servers[n]!)
}
