import { LineCounter, parseDocument } from 'yaml'
import { DURATION_EXAMPLES, durationMs } from '../durations.js'
import { TopologyError } from '../errors.js'
import { PRIORITIES, type Priority } from '../message.js'
import { parseTopology } from '../topology/parse-topology.js'
import type { Topology } from '../topology/topology.js'

/** Messages a runner submits: `rate` per second from `from` to random mailboxes of `to`. */
export interface TrafficStream {
  from: string[]
  to: string[]
  rate: number
  size: number
  priority: Priority
}

/**
 * `join` reconnects cut links only (Blockade's word); `heal` mends everything of its targets:
 * links, paused processes, stopped ones. `fail-node` and `restore-node` take a whole node of the
 * scenario's `nodes:` down and up: its MTAs are the step's targets.
 */
export type FaultAction = 'kill' | 'stop' | 'pause' | 'restart' | 'start' | 'resume' | 'partition' | 'latency' | 'join' | 'heal' | 'fail-node' | 'restore-node'

/** One fault at one time (ms from the start), on its targets. */
export interface FaultStep {
  at: number
  action: FaultAction
  targets: string[]
  /** partition, latency: the groups between which links are cut (or slowed); with `oneWay`, only groups[0] -> groups[1]. */
  groups?: string[][]
  oneWay?: boolean
  /** How the link behaves while cut: a black hole (timeouts) or refused connections. */
  mode?: 'blackhole' | 'refuse'
  /** latency: what each link adds to every chunk of bytes, each way. */
  delayMs?: number
  /** fail-node, restore-node: the node (a key of the scenario's `nodes:`), whose MTAs are the targets. */
  node?: string
  /** Where the step came from in the file (`faults[3]`, `faults[1] flap 2/5`). */
  source: string
}

/** What the checker should find (docs/scenarios.md). */
export interface Expectations {
  /** Per MTA: whether it stops reaching healthy peers of its site (Q260167). */
  stops: Record<string, boolean>
  /** Queues of a restarted MTA drain before the end. */
  drainAfterRestart: boolean
  /** No connector loses a control block, and mail across connectors arrives. */
  connectorsFlow: boolean
}

export interface Scenario {
  name: string
  file: string
  seed: number
  durationMs: number
  /** After the final heal, how long the runner waits for queues to drain before it checks. */
  settleMs: number
  /** Milliseconds between status samples. */
  sampleMs: number
  topology: Topology
  topologyText: string
  traffic: TrafficStream[]
  faults: unknown[]
  /**
   * Which MTAs run together on one node, by node (the value of its xcon.node label on a swarm):
   * the stack backend places them so, and `fail-node` fails them together. Empty when not given.
   */
  nodes: Record<string, string[]>
  expect: Expectations
}

/**
 * Parses a scenario file. `readTopology(path)` loads a topology named by path (relative paths
 * are the caller's to resolve). Problems are TopologyErrors naming the file and the line.
 */
export function parseScenario (text: string, file: string, readTopology: (path: string) => string, seedOverride?: number, randomSeed: () => number = () => Math.floor(Math.random() * 2 ** 31)): Scenario {
  const counter = new LineCounter()
  const doc = parseDocument(text, { lineCounter: counter, prettyErrors: false })
  const firstError = doc.errors[0]
  if (firstError !== undefined) throw new TopologyError(file, counter.linePos(firstError.pos[0]).line, firstError.message.split('\n')[0]!)
  const lineOf = (path: Array<string | number>): number | undefined => {
    const node = doc.getIn(path, true) as { range?: [number] } | undefined
    return node?.range === undefined ? undefined : counter.linePos(node.range[0]).line
  }
  const fail = (path: Array<string | number>, problem: string): never => {
    throw new TopologyError(file, lineOf(path), `${path.join('.')}: ${problem}`)
  }
  const s = doc.toJS() as Record<string, unknown>
  if (typeof s !== 'object' || s === null) fail([], 'expected a map with topology, traffic, faults and expect')
  const KEYS = ['name', 'seed', 'duration', 'settle', 'sample', 'topology', 'nodes', 'traffic', 'faults', 'expect']
  for (const k of Object.keys(s)) if (!KEYS.includes(k)) fail([k], `unknown key; expected ${KEYS.join(', ')}`)

  let topologyText: string
  let topologyFile = file
  if (typeof s.topology === 'string') {
    topologyFile = s.topology
    try { topologyText = readTopology(s.topology) } catch { return fail(['topology'], `cannot read ${s.topology}`) }
  } else if (typeof s.topology === 'object' && s.topology !== null) {
    topologyText = JSON.stringify(s.topology)
  } else {
    return fail(['topology'], 'name a topology file or write one inline')
  }
  const topology = parseTopology(topologyText, topologyFile)
  const servers = Object.keys(topology.servers)
  const known = (list: unknown, path: Array<string | number>): string[] => {
    const names = list === '*' ? servers : typeof list === 'string' ? [list] : Array.isArray(list) ? list : fail(path, 'expected a server, a list of servers, or "*"')
    return names.map((n, i) => typeof n === 'string' && servers.includes(n) ? n : fail(Array.isArray(list) ? [...path, i] : path, `unknown MTA ${JSON.stringify(n)}; the topology has ${servers.join(', ')}`))
  }

  const duration = durationMs(s.duration ?? '60s') ?? fail(['duration'], `expected a duration (${DURATION_EXAMPLES})`)
  const traffic = (Array.isArray(s.traffic) ? s.traffic : s.traffic === undefined ? [] : fail(['traffic'], 'expected a list')).map((t: unknown, i: number): TrafficStream => {
    if (typeof t !== 'object' || t === null || Array.isArray(t)) return fail(['traffic', i], 'expected a map with from, to and rate')
    const r = t as Record<string, unknown>
    for (const k of Object.keys(r)) if (!['from', 'to', 'rate', 'size', 'priority'].includes(k)) fail(['traffic', i, k], 'unknown key; expected from, to, rate, size, priority')
    const priority = (r.priority ?? 'normal') as Priority
    if (!PRIORITIES.includes(priority)) fail(['traffic', i, 'priority'], `expected one of ${PRIORITIES.join(', ')}`)
    const rate = typeof r.rate === 'number' && r.rate > 0 && r.rate <= 1000 ? r.rate : fail(['traffic', i, 'rate'], 'expected messages per second, above 0 and at most 1000')
    return { from: known(r.from, ['traffic', i, 'from']), to: known(r.to ?? '*', ['traffic', i, 'to']), rate, size: typeof r.size === 'number' ? r.size : 1024, priority }
  })
  const nodes: Record<string, string[]> = {}
  if (s.nodes !== undefined) {
    if (typeof s.nodes !== 'object' || s.nodes === null || Array.isArray(s.nodes)) fail(['nodes'], 'expected a map from a node (its xcon.node label) to its servers')
    const placed = new Map<string, string>()
    for (const [node, list] of Object.entries(s.nodes as Record<string, unknown>)) {
      nodes[node] = known(list, ['nodes', node])
      for (const server of nodes[node]) {
        if (placed.has(server)) fail(['nodes', node], `${server} is on node ${placed.get(server)!} already; an MTA runs on one node`)
        placed.set(server, node)
      }
    }
  }
  const e = (s.expect ?? {}) as Record<string, unknown>
  for (const k of Object.keys(e)) if (!['stops', 'drainAfterRestart', 'connectorsFlow'].includes(k)) fail(['expect', k], 'unknown key; expected stops, drainAfterRestart, connectorsFlow')
  const stops: Record<string, boolean> = {}
  for (const [name, v] of Object.entries((e.stops ?? {}) as Record<string, unknown>)) {
    if (!servers.includes(name)) fail(['expect', 'stops', name], `unknown MTA; the topology has ${servers.join(', ')}`)
    if (typeof v !== 'boolean') fail(['expect', 'stops', name], 'expected true or false')
    stops[name] = v as boolean
  }
  const seed = seedOverride ?? (typeof s.seed === 'number' ? s.seed : randomSeed())
  return {
    name: typeof s.name === 'string' ? s.name : file,
    file,
    seed,
    durationMs: duration,
    settleMs: durationMs(s.settle ?? '20s') ?? fail(['settle'], `expected a duration (${DURATION_EXAMPLES})`),
    // A sample interval of nothing would never let a run move on.
    sampleMs: (v => v !== undefined && v > 0 ? v : undefined)(durationMs(s.sample ?? '500ms')) ?? fail(['sample'], `expected a duration above 0 (${DURATION_EXAMPLES})`),
    topology,
    topologyText,
    traffic,
    faults: Array.isArray(s.faults) ? s.faults : s.faults === undefined ? [] : fail(['faults'], 'expected a list'),
    nodes,
    expect: { stops, drainAfterRestart: e.drainAfterRestart !== false, connectorsFlow: e.connectorsFlow !== false }
  }
}
