import { allServers, parseScenario, type Incident, type IncidentFault, type Scenario, type Topology } from '@xcon/core'

/** How long a game day settles after its end (at most), so that every message can be counted. */
export const GAMEDAY_SETTLE = '30s'
/** Each server's light mail to each of its site's others, a message every two seconds. */
const RATE = 0.5

/** A fault as a step of the scenario file's schedule, at the start; a full disk is no step (the runner fills it). */
function step (f: IncidentFault): string | undefined {
  switch (f.kind) {
    case 'kill': return `  - { at: 0s, kill: ${f.server} }`
    case 'pause': return `  - { at: 0s, pause: ${f.server} }`
    case 'partition': return `  - { at: 0s, partition: { from: [${f.from}], to: [${f.to}] } }`
    case 'latency': return `  - { at: 0s, latency: { from: [${f.from}], to: [${f.to}] }, delay: ${f.delayMs ?? 2000}ms }`
    case 'disk-full': return undefined
  }
}

/**
 * The scenario a game day runs: its site with light traffic inside each site, the incident's
 * faults at the start, for the time limit, then a heal of everything and a settle, so that the
 * checker can count every message whatever the trainee did.
 */
export function gamedayScenario (topology: Topology, topologyText: string, incident: Incident, seed: number, limitMs: number): Scenario {
  const servers = allServers(topology)
  const traffic = servers.map(s => {
    const to = servers.filter(p => p.site === s.site && p.name !== s.name).map(p => p.name)
    return to.length === 0 ? undefined : `  - { from: ${s.name}, to: [${to.join(', ')}], rate: ${RATE} }`
  }).filter(l => l !== undefined)
  const faults = incident.faults.map(step).filter(l => l !== undefined)
  const yaml = [
    `name: gameday-${incident.name}`,
    `seed: ${seed}`,
    `duration: ${Math.ceil(limitMs / 1000)}s`,
    `settle: ${GAMEDAY_SETTLE}`,
    'sample: 1s',
    'topology: site.yaml',
    'traffic:',
    ...traffic,
    faults.length === 0 ? 'faults: []' : 'faults:',
    ...faults,
    'expect: { drainAfterRestart: false, connectorsFlow: false }'
  ].join('\n')
  return parseScenario(yaml, `gameday-${incident.name}.yaml`, () => topologyText, seed)
}
