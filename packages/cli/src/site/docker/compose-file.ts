import { allServers, type Topology } from '@xcon/core'

/** Ports inside every container, as the image's environment sets them (Dockerfile: XCON_PORT, XCON_ADMIN_PORT). */
export const CONTAINER_MTA_PORT = 7000
export const CONTAINER_ADMIN_PORT = 7100
/** The IMS listens above 1024: the MTA runs as the unprivileged `node` user. */
export const CONTAINER_IMS_PORT = 2525
/** Where each container finds its topology (bind-mounted, read-only). */
export const CONTAINER_TOPOLOGY = '/etc/xcon/topology.json'

export interface ComposeOptions {
  image: string
  /** The container topology on the host, mounted into every container (relative to the compose file, or absolute). */
  topologyFile: string
  /** The host port (on 127.0.0.1) that publishes each server's admin API. */
  adminPorts: Record<string, number>
  /** The host port (on 127.0.0.1) that publishes the IMS of each server that has one; none if absent. */
  smtpPorts?: Record<string, number>
  /** Pass the `XCON_*` overrides of docker-compose.yml (XCON_BUILD, XCON_TRAFFIC …) from the shell to every MTA. */
  shellOverrides?: boolean
}

/**
 * The admin token of containers whose topology names none. Published admin ports are reachable
 * from every web page the host's browser opens; a token, even a known one, makes the browser ask
 * first (a CORS preflight the MTA never answers), so a page cannot submit mail. Set your own with
 * XCON_ADMIN_TOKEN (docs/configuration.md).
 */
export const COMPOSE_ADMIN_TOKEN = 'xcon-admin'

/** The variables docker-compose.yml passes from the shell to every MTA (docs/configuration.md). */
const SHELL_OVERRIDES = ['XCON_BUILD', 'XCON_TRAFFIC', 'XCON_CONTROL_BLOCKS', 'XCON_LEAK_PROBABILITY', 'XCON_TIME_SCALE']

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
 * A compose file for any topology: one service per server, whatever the shape of the sites and
 * connectors, on one network, each publishing only its admin API (and its IMS) on 127.0.0.1. No
 * container names (the project name keeps sites apart), no volumes (a container's store lives as
 * long as the container) and no restart policy (a killed MTA stays down until someone starts it).
 */
export function composeFile (topology: Topology, opts: ComposeOptions): Record<string, unknown> {
  const services: Record<string, unknown> = {}
  for (const s of allServers(topology)) {
    const service = serviceName(s.name)
    const adminPort = opts.adminPorts[s.name]
    if (adminPort === undefined) throw new Error(`no admin port for ${s.name}`)
    services[service] = {
      image: opts.image,
      init: true,
      hostname: service,
      environment: {
        XCON_SERVER: s.name,
        XCON_TOPOLOGY: CONTAINER_TOPOLOGY,
        ...(topology.adminToken === undefined ? { XCON_ADMIN_TOKEN: opts.shellOverrides === true ? `\${XCON_ADMIN_TOKEN:-${COMPOSE_ADMIN_TOKEN}}` : COMPOSE_ADMIN_TOKEN } : {}),
        ...(opts.shellOverrides === true ? Object.fromEntries(SHELL_OVERRIDES.map(v => [v, `\${${v}:-}`])) : {})
      },
      labels: { 'xcon.server': s.name, 'xcon.site': s.site },
      volumes: [`${opts.topologyFile}:${CONTAINER_TOPOLOGY}:ro`],
      ports: [
        `127.0.0.1:${adminPort}:${CONTAINER_ADMIN_PORT}`,
        ...(s.ims !== undefined && opts.smtpPorts?.[s.name] !== undefined ? [`127.0.0.1:${opts.smtpPorts[s.name]!}:${CONTAINER_IMS_PORT}`] : [])
      ],
      networks: ['site'],
      stop_grace_period: '20s'
    }
  }
  return { version: '3.8', services, networks: { site: {} } }
}
