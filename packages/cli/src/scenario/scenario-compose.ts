import { allServers, type Topology } from '@xcon/core'

/** Ports inside every container, as the image's environment sets them (Dockerfile: XCON_PORT, XCON_ADMIN_PORT). */
export const CONTAINER_MTA_PORT = 7000
export const CONTAINER_ADMIN_PORT = 7100
/** The IMS listens above 1024: the MTA runs as the unprivileged `node` user. */
export const CONTAINER_IMS_PORT = 2525
/** Where each container finds the scenario's topology (bind-mounted, read-only). */
export const CONTAINER_TOPOLOGY = '/scenario/topology.json'

export interface ScenarioComposeOptions {
  image: string
  /** The run's topology file on the host, mounted into every container. */
  topologyFile: string
  /** The host port (on 127.0.0.1) that publishes each server's admin API. */
  adminPorts: Record<string, number>
}

/**
 * The compose service (and host) name of a server: its name in lower case. Topology names are
 * letters, digits and hyphens, unique regardless of case, so this is a DNS label and unique too.
 */
export function serviceName (server: string): string {
  return server.toLowerCase()
}

/**
 * Rewrites a scenario's topology for containers: each server reached by its service name on the
 * container ports, whatever ports the file pinned for local processes. Returns a copy.
 */
export function containerTopology (topology: Topology): Topology {
  const copy = structuredClone(topology)
  for (const s of allServers(copy)) {
    s.host = serviceName(s.name)
    s.port = CONTAINER_MTA_PORT
    s.adminHost = '0.0.0.0'
    s.adminPort = CONTAINER_ADMIN_PORT
    if (s.ims !== undefined) s.ims = { ...s.ims, host: '0.0.0.0', port: CONTAINER_IMS_PORT }
  }
  return copy
}

/**
 * A compose file for a scenario's site: one service per server of the topology, whatever its
 * shape, on one network, each publishing only its admin API on 127.0.0.1. No container names
 * (the project name keeps runs apart), no volumes (a container's store lives as long as the
 * run) and no restart policy (a killed MTA stays down until the schedule starts it).
 */
export function scenarioCompose (topology: Topology, opts: ScenarioComposeOptions): Record<string, unknown> {
  const services: Record<string, unknown> = {}
  for (const s of allServers(topology)) {
    const service = serviceName(s.name)
    const adminPort = opts.adminPorts[s.name]
    if (adminPort === undefined) throw new Error(`no admin port for ${s.name}`)
    services[service] = {
      image: opts.image,
      init: true,
      hostname: service,
      environment: { XCON_SERVER: s.name, XCON_TOPOLOGY: CONTAINER_TOPOLOGY },
      labels: { 'xcon.server': s.name, 'xcon.site': s.site },
      volumes: [`${opts.topologyFile}:${CONTAINER_TOPOLOGY}:ro`],
      ports: [`127.0.0.1:${adminPort}:${CONTAINER_ADMIN_PORT}`],
      networks: ['site'],
      stop_grace_period: '20s'
    }
  }
  return { version: '3.8', services, networks: { site: {} } }
}
