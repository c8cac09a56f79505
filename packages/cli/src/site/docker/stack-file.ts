import { allServers, type Topology } from '@xcon/core'
import { CONTAINER_TOPOLOGY, composeFile } from './compose-file.js'

/** The node label a stack's placement reads (scripts/two-node-swarm.sh sets xcon.node=1 and 2). */
export const NODE_LABEL = 'xcon.node'

export interface StackFileOptions {
  image: string
  /** The container topology on this machine; Swarm hands it to every node as a config. */
  topologyFile: string
  /** Server → the xcon.node label value of the node that must run it; a server not named goes anywhere. */
  placement: Record<string, string>
}

/**
 * A stack file for any topology, from the compose file of the same topology: Swarm's own ways
 * where compose's would not carry to another node. The topology travels as a config (a bind
 * mount would need the file on every node); each store is a named volume, since Swarm makes a
 * new container for every start and the store must outlive it; nothing is published (xcon
 * reaches the admin APIs inside the containers); the restart policy is none, as in
 * docker-compose.yml, so that an outage lasts; and each MTA is placed on its node.
 */
export function stackFile (topology: Topology, opts: StackFileOptions): Record<string, unknown> {
  // No admin port is published: the compose file's are dropped below.
  const base = composeFile(topology, { image: opts.image, topologyFile: opts.topologyFile, adminPorts: Object.fromEntries(allServers(topology).map(s => [s.name, 0])) })
  const services = base.services as Record<string, Record<string, unknown>>
  const volumes: Record<string, object> = {}
  for (const [name, service] of Object.entries(services)) {
    const server = (service.labels as Record<string, string>)['xcon.server']!
    const node = opts.placement[server]
    delete service.ports
    service.volumes = [`${name}-data:/data`]
    volumes[`${name}-data`] = {}
    service.configs = [{ source: 'topology', target: CONTAINER_TOPOLOGY, mode: 0o444 }]
    service.deploy = {
      restart_policy: { condition: 'none' },
      ...(node === undefined ? {} : { placement: { constraints: [`node.labels.${NODE_LABEL} == ${node}`] } })
    }
  }
  return { version: '3.8', services, networks: base.networks, volumes, configs: { topology: { file: opts.topologyFile } } }
}
