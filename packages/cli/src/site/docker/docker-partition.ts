import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { CliError } from '../../cli-error.js'
import type { DockerSite } from './docker-site.js'

const run = promisify(execFile)
/** The chain of xcon's rules in a container's network namespace, jumped to from INPUT and OUTPUT. */
export const CHAIN = 'XCON'

/** Runs iptables inside a container's network namespace (needs root and nsenter on the host). */
export async function iptables (pid: number, args: string[]): Promise<void> {
  await run('nsenter', ['-t', String(pid), '-n', 'iptables', '-w', ...args])
}

export async function ensureChain (pid: number): Promise<void> {
  try { await iptables(pid, ['-N', CHAIN]) } catch { /* exists already */ }
  for (const builtin of ['INPUT', 'OUTPUT']) {
    try { await iptables(pid, ['-C', builtin, '-j', CHAIN]) } catch { await iptables(pid, ['-I', builtin, '-j', CHAIN]) }
  }
}

/**
 * Cuts `target` off from `from` (default: every other MTA). Packets between them are dropped
 * inside the target's network namespace, so both sides see a black hole (connects and
 * heartbeats time out), not a refusal. Where the host cannot do that (no root, no nsenter or
 * iptables), and the cut is total, the container is disconnected from its networks instead; its
 * peers then fail to resolve its name, which they count as a refusal.
 */
export async function partition (site: DockerSite, target: string, from: string[] | undefined): Promise<string> {
  const name = site.resolve(target)
  const c = await site.container(name)
  if (c === undefined || c.status !== 'running') throw new CliError(`${name} is not running`)
  const others = (from ?? site.names.filter(n => n !== name)).map(n => site.resolve(n)).filter(n => n !== name)
  const ips: string[] = []
  for (const peer of others) {
    const p = await site.container(peer)
    for (const [net, ip] of Object.entries(p?.networks ?? {})) if (net in c.networks && ip !== '') ips.push(ip)
  }
  try {
    await ensureChain(c.pid)
    for (const ip of ips) {
      await iptables(c.pid, ['-A', CHAIN, '-s', ip, '-j', 'DROP'])
      await iptables(c.pid, ['-A', CHAIN, '-d', ip, '-j', 'DROP'])
    }
    return `${name} cut off from ${others.join(', ')} (packets dropped: a black hole)`
  } catch (err) {
    if (from !== undefined) throw new CliError(`partition --from needs root with nsenter and iptables on the Docker host: ${(err as Error).message}`)
    for (const net of Object.keys(c.networks)) await run('docker', ['network', 'disconnect', net, c.id])
    return `${name} disconnected from ${Object.keys(c.networks).join(', ')} (no iptables here: peers will see its name vanish)`
  }
}

/** Undoes every partition of `target` (default: all MTAs): flushes the drop rules, reconnects networks. */
export async function heal (site: DockerSite, target: string | undefined): Promise<string[]> {
  const names = target === undefined ? site.names : [site.resolve(target)]
  const all = await Promise.all(site.names.map(async n => [n, await site.container(n)] as const))
  const siteNetworks = new Set(all.flatMap(([, c]) => Object.keys(c?.networks ?? {})))
  const healed: string[] = []
  for (const name of names) {
    const c = all.find(([n]) => n === name)?.[1]
    if (c === undefined || c.status !== 'running') continue
    try { await iptables(c.pid, ['-F', CHAIN]) } catch { /* no chain: never partitioned this way */ }
    for (const net of siteNetworks) {
      if (!(net in c.networks)) await run('docker', ['network', 'connect', '--alias', site.service(name), net, c.id])
    }
    healed.push(name)
  }
  return healed
}
