import type { Topology } from './topology.js'

/**
 * Writes a resolved topology back in the file format, every server spelled out, so that a
 * launcher can pin ports and overrides and hand each MTA the same file. parseTopology reads it back.
 */
export function serializeTopology (topology: Topology): Record<string, unknown> {
  return {
    organization: topology.organization,
    domain: topology.domain,
    ...(topology.adminToken === undefined ? {} : { adminToken: topology.adminToken }),
    sites: Object.fromEntries(Object.values(topology.sites).map(s => [s.name, { secret: s.secret, servers: s.servers }])),
    servers: Object.fromEntries(Object.values(topology.servers).map(s => [s.name, {
      build: s.build,
      timeScale: s.timeScale,
      controlBlocks: s.controlBlocks,
      traffic: s.traffic,
      leak: s.leak.seed === undefined ? { kinds: s.leak.kinds, probability: s.leak.probability } : s.leak,
      queueAlarm: s.queueAlarm,
      mailboxes: s.mailboxes,
      host: s.host,
      ...(s.port === undefined ? {} : { port: s.port }),
      adminHost: s.adminHost,
      ...(s.adminPort === undefined ? {} : { adminPort: s.adminPort }),
      ...(s.ims === undefined ? {} : { ims: { host: s.ims.host, ...(s.ims.port === undefined ? {} : { port: s.ims.port }), ...(s.ims.smartHost === undefined ? {} : { smartHost: s.ims.smartHost }) } })
    }])),
    connectors: Object.fromEntries(Object.values(topology.connectors).map(c => [c.name, {
      type: c.type, sites: c.sites, bridgeheads: c.bridgeheads, cost: c.cost, secret: c.secret, addressSpace: c.addressSpace
    }]))
  }
}
