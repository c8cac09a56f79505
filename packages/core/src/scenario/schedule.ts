import { TopologyError } from '../errors.js'
import { SeededRandom } from '../random.js'
import { DURATION_EXAMPLES, durationMs } from '../durations.js'
import type { FaultAction, FaultStep, Scenario } from './scenario.js'

const SIMPLE: FaultAction[] = ['kill', 'stop', 'pause', 'restart', 'start', 'resume']
/** What ends a bounded fault (`for:`). */
const UNDO: Partial<Record<FaultAction, FaultAction>> = { kill: 'start', stop: 'start', pause: 'resume', partition: 'join', latency: 'join', 'fail-node': 'restore-node' }
const NODE_FAULTS = ['fail-node', 'restore-node'] as const

/**
 * Turns the scenario's fault list into timed steps. The same seed gives the same steps; the last
 * step is always a heal of everything at the end of the run. Each step says where it came from.
 */
export function expandSchedule (scenario: Scenario): FaultStep[] {
  const random = new SeededRandom(scenario.seed)
  const servers = Object.keys(scenario.topology.servers)
  const steps: FaultStep[] = []
  const fail = (where: string, problem: string): never => { throw new TopologyError(scenario.file, undefined, `${where}: ${problem}`) }
  const time = (v: unknown, where: string): number => durationMs(v) ?? fail(where, `expected a duration (${DURATION_EXAMPLES}), got ${JSON.stringify(v)}`)
  const names = (v: unknown, where: string): string[] => {
    const list = v === 'all' || v === '*' ? servers : typeof v === 'string' ? [v] : Array.isArray(v) ? v as string[] : fail(where, 'expected a server or a list of servers')
    for (const n of list) if (!servers.includes(n)) fail(where, `unknown MTA ${JSON.stringify(n)}; the topology has ${servers.join(', ')}`)
    return list
  }
  const bounded = (step: FaultStep, forMs: number | undefined): void => {
    steps.push(step)
    const undo = UNDO[step.action]
    if (forMs !== undefined && undo !== undefined) steps.push({ at: step.at + forMs, action: undo, targets: step.targets, ...(step.node === undefined ? {} : { node: step.node }), source: `${step.source} (end)` })
  }

  // A misspelt key (one-way: for a one-way partition, fro: for for:) must not quietly change the run.
  const onlyKeys = (m: Record<string, unknown>, allowed: string[], where: string): void => {
    for (const k of Object.keys(m)) if (!allowed.includes(k)) fail(`${where}.${k}`, `unknown key; expected ${allowed.join(', ')}`)
  }

  scenario.faults.forEach((raw, i) => {
    const f = raw as Record<string, unknown>
    const where = `faults[${i}]`
    if (typeof f !== 'object' || f === null) return fail(where, 'expected a map')
    const kind = ['random', 'flap', 'partition', 'latency', 'heal', 'join', ...NODE_FAULTS, ...SIMPLE].find(k => f[k] !== undefined)
    const extra: Record<string, string[]> = { random: [], flap: ['at', 'down', 'up', 'count', 'jitter'], partition: ['at', 'mode', 'for'], latency: ['at', 'delay', 'for'], heal: ['at'], join: ['at'] }
    if (kind !== undefined) onlyKeys(f, [kind, ...(extra[kind] ?? ['at', 'for'])], where)
    if (f.random !== undefined) {
      if (typeof f.random !== 'object' || f.random === null || Array.isArray(f.random)) return fail(`${where}.random`, 'expected a map (count, between, faults, targets, for)')
      const r = f.random as Record<string, unknown>
      onlyKeys(r, ['count', 'between', 'faults', 'targets', 'for'], `${where}.random`)
      const [from, to] = (Array.isArray(r.between) ? r.between : ['0s', `${scenario.durationMs / 1000}s`]).map((v: unknown) => time(v, `${where}.random.between`))
      const kinds = (Array.isArray(r.faults) ? r.faults : ['kill']) as FaultAction[]
      const targets = names(r.targets ?? 'all', `${where}.random.targets`)
      const forMs = r.for === undefined ? undefined : time(r.for, `${where}.random.for`)
      const count = typeof r.count === 'number' ? r.count : 1
      for (let n = 0; n < count; n++) {
        const at = Math.round(from! + random.next() * (to! - from!))
        const action = random.pick(kinds)
        const target = random.pick(targets)
        const source = `${where} random ${n + 1}/${count}`
        if (action === 'partition') bounded({ at, action, targets: [target], groups: [[target], servers.filter(s => s !== target)], mode: 'blackhole', source }, forMs)
        else bounded({ at, action, targets: [target], source }, forMs)
      }
      return
    }
    const at = time(f.at ?? 0, `${where}.at`)
    const forMs = f.for === undefined ? undefined : time(f.for, `${where}.for`)
    if (f.flap !== undefined) {
      const targets = names(f.flap, `${where}.flap`)
      const down = time(f.down ?? '3s', `${where}.down`)
      const up = time(f.up ?? '3s', `${where}.up`)
      const count = typeof f.count === 'number' ? f.count : 1
      const jitter = typeof f.jitter === 'number' ? f.jitter : 0
      const vary = (ms: number): number => Math.max(0, Math.round(ms * (1 + jitter * (2 * random.next() - 1))))
      let t = at
      for (let n = 1; n <= count; n++) {
        steps.push({ at: t, action: 'kill', targets, source: `${where} flap ${n}/${count}` })
        t += vary(down)
        steps.push({ at: t, action: 'start', targets, source: `${where} flap ${n}/${count}` })
        t += vary(up)
      }
      return
    }
    // Link faults: groups cut (or slowed) from each other, or one way with { from, to }.
    const linkAction = f.partition !== undefined ? 'partition' as const : f.latency !== undefined ? 'latency' as const : undefined
    if (linkAction !== undefined) {
      const p = f[linkAction]
      const extra = linkAction === 'partition'
        ? { mode: f.mode === 'refuse' ? 'refuse' as const : 'blackhole' as const }
        : { delayMs: f.delay === undefined ? fail(`${where}.delay`, 'a latency fault needs delay: (for example 300ms)') : time(f.delay, `${where}.delay`) }
      if (Array.isArray(p)) {
        const groups = p.map((g, j) => names(g, `${where}.${linkAction}[${j}]`))
        if (groups.length < 2) fail(`${where}.${linkAction}`, 'name at least two groups')
        bounded({ at, action: linkAction, targets: groups.flat(), groups, ...extra, source: where }, forMs)
      } else {
        if (typeof p !== 'object' || p === null) fail(`${where}.${linkAction}`, 'expected groups ([[SRV-A], [SRV-B]]) or one way ({ from, to })')
        const dir = p as Record<string, unknown>
        onlyKeys(dir, ['from', 'to'], `${where}.${linkAction}`)
        const groups = [names(dir.from, `${where}.${linkAction}.from`), names(dir.to, `${where}.${linkAction}.to`)]
        bounded({ at, action: linkAction, targets: groups.flat(), groups, oneWay: true, ...extra, source: where }, forMs)
      }
      return
    }
    // A whole node: the MTAs that the scenario's nodes: puts on it.
    const nodeAction = NODE_FAULTS.find(a => f[a] !== undefined)
    if (nodeAction !== undefined) {
      const node = String(f[nodeAction])
      const targets = scenario.nodes[node] ?? fail(`${where}.${nodeAction}`, Object.keys(scenario.nodes).length === 0
        ? 'a node fault needs the scenario\'s nodes: (which MTAs run on which node)'
        : `unknown node ${JSON.stringify(node)}; nodes: has ${Object.keys(scenario.nodes).join(', ')}`)
      bounded({ at, action: nodeAction, targets, node, source: where }, forMs)
      return
    }
    if (f.heal !== undefined || f.join !== undefined) {
      const action = f.heal !== undefined ? 'heal' : 'join'
      steps.push({ at, action, targets: names(f[action], `${where}.${action}`), source: where })
      return
    }
    const action = SIMPLE.find(a => f[a] !== undefined)
    if (action === undefined) return fail(where, `expected one of ${[...SIMPLE, 'flap', 'partition', 'latency', 'join', 'heal', ...NODE_FAULTS, 'random'].join(', ')}`)
    bounded({ at, action, targets: names(f[action], `${where}.${action}`), source: where }, forMs)
  })

  // Jepsen's final generator: whatever happened, the run ends with everything healed.
  steps.push({ at: scenario.durationMs, action: 'heal', targets: servers, source: 'final heal' })
  return steps.sort((a, b) => a.at - b.at)
}
