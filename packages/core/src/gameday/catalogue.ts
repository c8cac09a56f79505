import { leaksConnectionResources } from '../builds.js'
import { UnknownIncidentError } from '../errors.js'
import { SeededRandom } from '../random.js'
import { allServers, type ServerSpec, type Topology } from '../topology/topology.js'
import type { Incident, Level } from './incident.js'

/** One entry of the catalogue: how to make its incident on a site, or undefined where the site cannot show it. */
export interface CatalogueEntry {
  name: string
  level: Level
  /** What `xcon gameday list` says of it: the kind of trouble, never which one a seed draws. */
  summary: string
  make: (topology: Topology, random: SeededRandom) => Incident | undefined
}

/** Servers of one site, each with the others of its site. */
function sites (topology: Topology): ServerSpec[][] {
  const by = new Map<string, ServerSpec[]>()
  for (const s of allServers(topology)) by.set(s.site, [...(by.get(s.site) ?? []), s])
  return [...by.values()].filter(ss => ss.length >= 2)
}

/**
 * The peer whose death makes KB Q260167 show soonest: the one with the most pre-SP4 siblings,
 * since only intra-site associations leak (connectors between sites do not, as the KB says).
 */
export function leakVictim (topology: Topology): { server: string, leakers: string[] } | undefined {
  let best: { server: string, leakers: string[] } | undefined
  for (const site of sites(topology)) {
    for (const s of site) {
      const leakers = site.filter(p => p.name !== s.name && leaksConnectionResources(p.build)).map(p => p.name)
      if (leakers.length > 0 && leakers.length >= (best?.leakers.length ?? 0)) best = { server: s.name, leakers }
    }
  }
  return best
}

/** Two servers of one site, drawn: a directed link. */
function aLink (topology: Topology, random: SeededRandom): { from: string, to: string } {
  const site = random.pick(sites(topology))
  const from = random.pick(site)
  return { from: from.name, to: random.pick(site.filter(s => s.name !== from.name)).name }
}

const q260167: CatalogueEntry = {
  name: 'q260167',
  level: 'normal',
  summary: 'mail between servers of one site stops',
  make: (topology) => {
    const v = leakVictim(topology)
    if (v === undefined) return undefined
    const site = allServers(topology).find(s => s.name === v.server)!.site
    const healthy = allServers(topology).filter(s => s.site === site && s.name !== v.server && s.name !== v.leakers[0]).map(s => s.name)
    return {
      name: 'q260167',
      level: 'normal',
      faults: [{ kind: 'kill', server: v.server }],
      causes: [{ server: v.server, cause: 'peer-down' }, ...v.leakers.map(l => ({ server: l, cause: 'leak' as const }))],
      symptom: `mail from ${v.leakers[0]!} to ${healthy[0] ?? v.server} is stuck`,
      expert: [
        { do: 'start', servers: [v.server], why: `${v.server} crashed: its peers' failed opens are what leaks their control blocks, so it comes back first` },
        { do: 'restart', servers: v.leakers, why: `${v.leakers.join(', ')} run a build before SP4 and have lost their control blocks (9156): only a restart resets them (KB Q260167)` }
      ],
      explanation: `${v.server} went down. Every failed association to it cost its pre-SP4 peers a control block, until they had none left for their healthy peers either (9156). Restarting them while ${v.server} is still down makes them leak again.`
    }
  }
}

const paused: CatalogueEntry = {
  name: 'paused',
  level: 'easy',
  summary: 'one server stops answering',
  make: (topology, random) => {
    const site = random.pick(sites(topology))
    const s = random.pick(site)
    const from = site.find(p => p.name !== s.name)!
    return {
      name: 'paused',
      level: 'easy',
      faults: [{ kind: 'pause', server: s.name }],
      causes: [{ server: s.name, cause: 'paused' }],
      symptom: `mail from ${from.name} to ${s.name} is stuck`,
      expert: [{ do: 'resume', servers: [s.name], why: `${s.name} hangs (its process is stopped): its peers time out and keep their mail, and nothing leaks for good until it is resumed` }],
      explanation: `${s.name} was paused (SIGSTOP): it holds its sockets and answers nothing. Its peers' opens time out; no 9156, since a timeout is not the refused connection storm of Q260167 on this site's settings.`
    }
  }
}

const partition: CatalogueEntry = {
  name: 'one-way-partition',
  level: 'normal',
  summary: 'mail stops in one direction between two servers',
  make: (topology, random) => {
    const { from, to } = aLink(topology, random)
    return {
      name: 'one-way-partition',
      level: 'normal',
      faults: [{ kind: 'partition', from: from, to: to }],
      causes: [{ server: from, cause: 'partition' }, { server: to, cause: 'partition' }],
      symptom: `mail from ${from} to ${to} is stuck; mail from ${to} to ${from} flows`,
      expert: [{ do: 'ask', team: 'network', why: `the link from ${from} to ${to} drops packets one way: both MTAs are healthy, and no restart mends a network` }],
      explanation: `Packets from ${from} to ${to} were dropped (a black hole, one way). Both MTAs ran; the fix was the network's.`
    }
  }
}

const diskFull: CatalogueEntry = {
  name: 'disk-full',
  level: 'normal',
  summary: 'one server takes no new mail',
  make: (topology, random) => {
    const s = random.pick(allServers(topology))
    return {
      name: 'disk-full',
      level: 'normal',
      faults: [{ kind: 'disk-full', server: s.name }],
      causes: [{ server: s.name, cause: 'disk-full' }],
      symptom: `users on ${s.name} cannot send mail; mail to them still arrives`,
      expert: [{ do: 'ask', team: 'storage', why: `${s.name} logs 9411: its disk is nearly full, so it takes no new mail and still delivers what it holds; a restart frees nothing` }],
      explanation: `${s.name}'s disk filled (9411): intake closed, delivery went on. The fix was space, from the storage team.`
    }
  }
}

const sp4Holds: CatalogueEntry = {
  name: 'sp4-holds',
  level: 'easy',
  summary: 'a server of a site goes away',
  make: (topology, random) => {
    // A dead peer whose siblings are all on SP4 or later: failures, and no leak.
    const candidates = sites(topology).flatMap(site => site.filter(s => site.every(p => p.name === s.name || !leaksConnectionResources(p.build))))
    if (candidates.length === 0) return undefined
    const s = random.pick(candidates)
    const from = allServers(topology).find(p => p.site === s.site && p.name !== s.name)!
    return {
      name: 'sp4-holds',
      level: 'easy',
      faults: [{ kind: 'kill', server: s.name }],
      causes: [{ server: s.name, cause: 'peer-down' }],
      symptom: `mail from ${from.name} to ${s.name} is stuck`,
      expert: [{ do: 'start', servers: [s.name], why: `${s.name} crashed; its peers run SP4, which returns every control block, so they need nothing` }],
      explanation: `${s.name} went down. Its peers run SP4 (build 2653): the same failures that stop a pre-SP4 MTA cost them nothing, and restarting them was never needed.`
    }
  }
}

const slowLink: CatalogueEntry = {
  name: 'slow-link',
  level: 'easy',
  summary: 'mail between two servers is slow',
  make: (topology, random) => {
    const { from, to } = aLink(topology, random)
    return {
      name: 'slow-link',
      level: 'easy',
      faults: [{ kind: 'latency', from: from, to: to, delayMs: 2000 }],
      causes: [{ server: from, cause: 'slow-link' }, { server: to, cause: 'slow-link' }],
      symptom: `mail from ${from} to ${to} arrives late`,
      expert: [{ do: 'ask', team: 'network', why: `the link from ${from} to ${to} adds two seconds to every packet: slow, not broken, and not the MTAs'` }],
      explanation: `The link from ${from} to ${to} was slow (2 s latency). Mail went, late; nothing leaked.`
    }
  }
}

/** Two faults at once: a Q260167, and a slow link between two of its leaky MTAs that no restart mends. */
const leakAndSlowLink: CatalogueEntry = {
  name: 'q260167-and-slow-link',
  level: 'hard',
  summary: 'mail between servers of one site stops, and some of it is slow',
  make: (topology, random) => {
    const leak = q260167.make(topology, random)
    const leakers = (leak?.causes ?? []).filter(c => c.cause === 'leak').map(c => c.server)
    if (leak === undefined || leakers.length < 2) return undefined
    const [from, to] = [leakers[1]!, leakers[0]!]
    return {
      ...leak,
      name: 'q260167-and-slow-link',
      level: 'hard',
      faults: [...leak.faults, { kind: 'latency', from, to, delayMs: 2000 }],
      // Both are leaky too: the slow link is the network's trouble beside the leak.
      causes: [...leak.causes, { server: from, cause: 'slow-link' }, { server: to, cause: 'slow-link' }],
      expert: [...leak.expert, { do: 'ask', team: 'network', why: `mail from ${from} to ${to} stays slow after the restart: the link adds two seconds, which is the network's to mend` }],
      explanation: `${leak.explanation} Meanwhile the link from ${from} to ${to} was slow (2 s latency), which no restart mends.`
    }
  }
}

/** Two faults at once on different servers: one hangs, one's disk fills. Neither is the leak. */
const pausedAndDiskFull: CatalogueEntry = {
  name: 'paused-and-disk-full',
  level: 'hard',
  summary: 'one server stops answering, another takes no new mail',
  make: (topology, random) => {
    const site = random.pick(sites(topology))
    const hung = random.pick(site)
    const full = random.pick(site.filter(s => s.name !== hung.name))
    const from = site.find(s => s.name !== hung.name)!
    return {
      name: 'paused-and-disk-full',
      level: 'hard',
      faults: [{ kind: 'pause', server: hung.name }, { kind: 'disk-full', server: full.name }],
      causes: [{ server: hung.name, cause: 'paused' }, { server: full.name, cause: 'disk-full' }],
      symptom: `mail from ${from.name} to ${hung.name} is stuck, and users on ${full.name} cannot send mail`,
      expert: [
        { do: 'resume', servers: [hung.name], why: `${hung.name} hangs (its process is stopped)` },
        { do: 'ask', team: 'storage', why: `${full.name} logs 9411: its disk is nearly full` }
      ],
      explanation: `${hung.name} was paused and ${full.name}'s disk filled (9411): two troubles at once, neither of them the leak, and neither mended by restarting anything.`
    }
  }
}

/** Every incident, in the order `xcon gameday list` shows them. */
export const CATALOGUE: readonly CatalogueEntry[] = [paused, sp4Holds, slowLink, q260167, partition, diskFull, leakAndSlowLink, pausedAndDiskFull]

/**
 * The incident a seed draws for a site: among the entries of the level asked for (all levels when
 * none is) that the site can show. `name` picks one for an instructor. The same seed and site
 * give the same incident, on processes and in containers.
 */
export function drawIncident (topology: Topology, seed: number, opts: { level?: Level | undefined, name?: string | undefined } = {}): Incident {
  const random = new SeededRandom(seed)
  if (opts.name !== undefined) {
    const entry = CATALOGUE.find(e => e.name === opts.name)
    if (entry === undefined) throw new UnknownIncidentError(`no incident "${opts.name}": the catalogue has ${CATALOGUE.map(e => e.name).join(', ')}`)
    const made = entry.make(topology, random)
    if (made === undefined) throw new UnknownIncidentError(`incident "${opts.name}" cannot happen on this topology (${entry.summary}; it needs servers it does not have)`)
    return made
  }
  const made = CATALOGUE.filter(e => opts.level === undefined || e.level === opts.level).map(e => e.make(topology, new SeededRandom(seed))).filter((i): i is Incident => i !== undefined)
  if (made.length === 0) throw new UnknownIncidentError(`no incident of level ${opts.level ?? 'any'} can happen on this topology`)
  return made[Math.floor(random.next() * made.length)]!
}
