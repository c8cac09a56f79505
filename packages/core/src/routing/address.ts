import { InvalidAddressError } from '../errors.js'
import type { Topology } from '../topology/topology.js'

export interface Address {
  alias: string
  server: string
}

/**
 * Reads `alias@SERVER` and resolves SERVER against the topology case-insensitively, returning the
 * canonical server name. Throws InvalidAddressError for any other form or an unknown server.
 */
export function resolveAddress (topology: Topology, address: string): Address {
  const match = /^([A-Za-z0-9._-]+)@([A-Za-z0-9-]+)$/.exec(address.trim())
  if (match === null) throw new InvalidAddressError(address, 'expected alias@SERVER, for example user1@SRV-B')
  const wanted = match[2]!.toUpperCase()
  const server = Object.keys(topology.servers).find(n => n.toUpperCase() === wanted)
  if (server === undefined) throw new InvalidAddressError(address, `no server ${match[2]} in the organisation (servers: ${Object.keys(topology.servers).join(', ')})`)
  return { alias: match[1]!.toLowerCase(), server }
}

export function formatAddress (a: Address): string {
  return `${a.alias}@${a.server}`
}
