import { allServers, leaksConnectionResources, type Topology } from '@xcon/core'
import { XCON } from '../invocation.js'

/**
 * The server whose death reproduces KB Q260167 soonest: the one with the most pre-SP4 MTAs in
 * its own site other than itself, since only intra-site associations leak (connectors between
 * sites do not, as the KB says). Ties go to the later server, which is usually the site's SP4
 * one. Undefined when no MTA of the topology leaks.
 */
export function q260167Victim (topology: Topology): { server: string, leakers: string[] } | undefined {
  const servers = allServers(topology)
  let best: { server: string, leakers: string[] } | undefined
  for (const s of servers) {
    const leakers = servers.filter(p => p.site === s.site && p.name !== s.name && leaksConnectionResources(p.build)).map(p => p.name)
    if (leakers.length > 0 && leakers.length >= (best?.leakers.length ?? 0)) best = { server: s.name, leakers }
  }
  return best
}

/** The lines `xcon up` ends with: a kill that makes this topology leak, with the flags the user gave (--data). */
export function tryHint (topology: Topology, flags: string): string[] {
  const x = flags === '' ? XCON : `${XCON} ${flags}`
  const v = q260167Victim(topology)
  if (v === undefined) return [`Every MTA here runs SP4 or later, so no kill reproduces Q260167: start with --build 2650 to see the leak.`]
  return [
    `Try: ${x} kill ${v.server}   (${v.leakers.join(', ')} ${v.leakers.length === 1 ? 'runs a build' : 'run builds'} that leak, in ${v.server}'s site)`,
    `then watch for 9156 with: ${x} logs -f --event 9156,leak   and recover with: ${x} start ${v.server}, then ${x} restart ${v.leakers.join(' ')}`
  ]
}
