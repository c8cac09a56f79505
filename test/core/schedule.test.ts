import { readFileSync } from 'node:fs'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { expandSchedule, parseScenario, TopologyError } from '@xcon/core'

const file = resolve(import.meta.dirname, '../../scenarios/q260167.yaml')
const text = readFileSync(file, 'utf8')
const load = (t: string, seed?: number) => parseScenario(t, 'q260167.yaml', () => '', seed)

describe('fault schedule', () => {
  it('gives the same steps for the same seed, and other steps for another', () => {
    expect(expandSchedule(load(text))).toEqual(expandSchedule(load(text)))
    expect(expandSchedule(load(text, 1)).map(s => s.at)).not.toEqual(expandSchedule(load(text, 2)).map(s => s.at))
  })

  it('expands a flap into kill/start pairs and always ends with a heal of everything', () => {
    const steps = expandSchedule(load(text))
    const flap = steps.filter(s => s.source.startsWith('faults[0] flap'))
    expect(flap.map(s => s.action)).toEqual(Array(7).fill(['kill', 'start']).flat())
    expect(flap[0]).toMatchObject({ at: 3000, targets: ['SRV-C'] })
    expect(steps.at(-1)).toMatchObject({ at: 50_000, action: 'heal', targets: ['SRV-A', 'SRV-B', 'SRV-C', 'SRV-D', 'BR-A', 'BR-B'], source: 'final heal' })
  })

  it('ends bounded faults with their undo, and reads one-way partitions and random faults', () => {
    const s = load(`topology: { sites: { S: { secret: x, servers: [A, B, C] } } }
duration: 30s
faults:
  - { at: 1s, pause: B, for: 2s }
  - { at: 4s, partition: { from: [A], to: [B, C] }, for: 1s, mode: refuse }
  - { random: { count: 3, between: [10s, 20s], faults: [kill], targets: [C], for: 1s } }
`)
    const steps = expandSchedule(s)
    expect(steps.slice(0, 4).map(x => [x.at, x.action, x.targets.join(',')])).toEqual([[1000, 'pause', 'B'], [3000, 'resume', 'B'], [4000, 'partition', 'A,B,C'], [5000, 'join', 'A,B,C']])
    expect(steps[2]).toMatchObject({ groups: [['A'], ['B', 'C']], oneWay: true, mode: 'refuse' })
    const random = steps.filter(x => x.source.includes('random'))
    expect(random).toHaveLength(6)
    expect(random.filter(x => x.action === 'kill').every(x => x.at >= 10_000 && x.at <= 20_000)).toBe(true)
  })

  it('reads latency on links, one way or between groups, undone by a join', () => {
    const s = load(`topology: { sites: { S: { secret: x, servers: [A, B, C] } } }
duration: 30s
faults:
  - { at: 1s, latency: { from: A, to: B }, delay: 300ms, for: 4s }
  - { at: 6s, latency: [[A], [B, C]], delay: 1s }
`)
    const steps = expandSchedule(s)
    expect(steps.slice(0, 3)).toEqual([
      { at: 1000, action: 'latency', targets: ['A', 'B'], groups: [['A'], ['B']], oneWay: true, delayMs: 300, source: 'faults[0]' },
      { at: 5000, action: 'join', targets: ['A', 'B'], source: 'faults[0] (end)' },
      { at: 6000, action: 'latency', targets: ['A', 'B', 'C'], groups: [['A'], ['B', 'C']], delayMs: 1000, source: 'faults[1]' }
    ])
    expect(() => expandSchedule(load(`topology: { sites: { S: { secret: x, servers: [A, B] } } }
faults:
  - { at: 1s, latency: { from: A, to: B } }
`))).toThrow(/faults\[0\]\.delay: a latency fault needs delay: \(for example 300ms\)/)
  })

  it('names an unknown server in a fault and in the traffic', () => {
    expect(() => expandSchedule(load(text.replace('flap: SRV-C', 'flap: SRV-Z')))).toThrow(/faults\[0\]\.flap: unknown MTA "SRV-Z"/)
    expect(() => load(text.replace('from: BR-B', 'from: BR-Q'))).toThrow(TopologyError)
    expect(() => load(text.replace('from: BR-B', 'from: BR-Q'))).toThrow(/q260167.yaml:\d+: traffic.4.from: unknown MTA "BR-Q"/)
  })

  it('refuses a misspelt key instead of running another scenario than the one written', () => {
    expect(() => expandSchedule(load(text.replace('restart: SRV-A }', 'restart: SRV-A, fro: 5s }')))).toThrow(/faults\[1\]\.fro: unknown key; expected restart, at, for/)
    expect(() => expandSchedule(load(text.replace('jitter: 0.2', 'jiter: 0.2')))).toThrow(/faults\[0\]\.jiter: unknown key; expected flap, at, down, up, count, jitter/)
    const oneWay = text.replace('- { at: 40s, restart: SRV-A }', '- { at: 40s, partition: [[SRV-A], [SRV-B]], one-way: true }')
    expect(() => expandSchedule(load(oneWay))).toThrow(/faults\[1\]\.one-way: unknown key; expected partition, at, mode, for/)
    expect(() => load(text.replace('rate: 3 }', 'rate: 3, sizes: 10 }'))).toThrow(/traffic.0.sizes: unknown key/)
    expect(() => load(text.replace('drainAfterRestart: true', 'drainAfterRestarts: true'))).toThrow(/expect.drainAfterRestarts: unknown key/)
  })

  it('reads the nodes of a scenario, and a node fault as its MTAs failing and coming back together', () => {
    const s = load(`topology: { sites: { S: { secret: x, servers: [A, B, C, D] } } }
duration: 30s
nodes: { "1": [A, B], "2": [C, D] }
faults:
  - { at: 5s, fail-node: "2", for: 10s }
  - { at: 20s, fail-node: 1 }
  - { at: 25s, restore-node: "1" }
`)
    expect(s.nodes).toEqual({ 1: ['A', 'B'], 2: ['C', 'D'] })
    expect(expandSchedule(s).slice(0, 4)).toEqual([
      { at: 5000, action: 'fail-node', targets: ['C', 'D'], node: '2', source: 'faults[0]' },
      { at: 15_000, action: 'restore-node', targets: ['C', 'D'], node: '2', source: 'faults[0] (end)' },
      { at: 20_000, action: 'fail-node', targets: ['A', 'B'], node: '1', source: 'faults[1]' },
      { at: 25_000, action: 'restore-node', targets: ['A', 'B'], node: '1', source: 'faults[2]' }
    ])
    const topo = 'topology: { sites: { S: { secret: x, servers: [A, B] } } }\n'
    expect(() => expandSchedule(load(`${topo}faults: [{ fail-node: "1" }]`))).toThrow(/faults\[0\]\.fail-node: a node fault needs the scenario's nodes: \(which MTAs run on which node\)/)
    expect(() => expandSchedule(load(`${topo}nodes: { "1": [A] }\nfaults: [{ fail-node: "3" }]`))).toThrow(/faults\[0\]\.fail-node: unknown node "3"; nodes: has 1/)
    expect(() => load(`${topo}nodes: { "1": [A, Z] }`)).toThrow(/nodes.1.1: unknown MTA "Z"/)
    expect(() => load(`${topo}nodes: { "1": [A], "2": [A, B] }`)).toThrow(/nodes.2: A is on node 1 already; an MTA runs on one node/)
    expect(() => load(`${topo}nodes: [A, B]`)).toThrow(/nodes: expected a map from a node/)
  })
})
