import { execFile } from 'node:child_process'
import { promisify } from 'node:util'

const run = promisify(execFile)

/**
 * The label that tells xcon how to reach a node's own Docker engine (unix://…, tcp://…, ssh://…),
 * for the commands a task's container needs (exec, kill, pause): Swarm runs tasks on other
 * nodes, but `docker exec` works only on the engine that runs the container.
 * scripts/two-node-swarm.sh sets it on the node it makes.
 */
export const ENGINE_LABEL = 'xcon.engine'

/** One node of the swarm, as the manager sees it. */
export interface SwarmNode {
  id: string
  hostname: string
  /** Swarm's view: ready, down, unknown, disconnected. */
  state: string
  role: string
  labels: Record<string, string>
  /** The engine that runs this node's containers: undefined for this machine's own (docker's default). */
  engine: string | undefined
  /** Whether it is the node of the engine docker talks to by default. */
  self: boolean
}

interface InspectedNode {
  ID: string
  Spec: { Role: string, Labels?: Record<string, string> }
  Description: { Hostname: string }
  Status: { State: string }
}

/** Every node of the swarm this machine's engine manages, with one `docker node ls` and one `docker node inspect`; none outside a swarm. */
export async function listSwarmNodes (): Promise<SwarmNode[]> {
  try {
    const self = (await run('docker', ['info', '--format', '{{.Swarm.NodeID}}'])).stdout.trim()
    const ids = (await run('docker', ['node', 'ls', '-q'])).stdout.split('\n').map(s => s.trim()).filter(s => s !== '')
    if (ids.length === 0) return []
    const nodes = JSON.parse((await run('docker', ['node', 'inspect', ...ids], { maxBuffer: 16 << 20 })).stdout) as InspectedNode[]
    return nodes.map(n => {
      const labels = n.Spec.Labels ?? {}
      return { id: n.ID, hostname: n.Description.Hostname, state: n.Status.State, role: n.Spec.Role, labels, engine: n.ID === self ? undefined : labels[ENGINE_LABEL], self: n.ID === self }
    })
  } catch {
    return [] // not a manager, or no engine: no nodes to tell
  }
}

/** The node a user named, by hostname or ID (as docker node commands take it). */
export function findNode (nodes: SwarmNode[], name: string): SwarmNode | undefined {
  return nodes.find(n => n.hostname === name) ?? nodes.find(n => n.id === name || (name.length >= 4 && n.id.startsWith(name)))
}
