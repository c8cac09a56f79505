import { ProxyNotFoundError, UnknownServerError } from '../errors.js'
import { LinkState, linkName } from './link-state.js'
import type { Toxic } from './toxic.js'

/**
 * The toxics a scenario's faults are made of, so that a partition played from a file and one
 * made through the link API are the same thing on the wire and in `GET /proxies`.
 * A black hole is Toxiproxy's `timeout` toxic with timeout 0 on both streams: nothing passes,
 * nothing is closed, so connects, binds and heartbeats time out as on a cut cable.
 */
export const PARTITION_TOXIC = 'xcon_partition'
export const LATENCY_TOXIC = 'xcon_latency'

export const partitionToxic = (): Toxic => ({ name: PARTITION_TOXIC, type: 'timeout', stream: 'both', toxicity: 1, attributes: { timeout: 0 } })
export const latencyToxic = (ms: number): Toxic => ({ name: LATENCY_TOXIC, type: 'latency', stream: 'both', toxicity: 1, attributes: { latency: ms, jitter: 0 } })

/**
 * Every directed link between two MTAs of a site, by name (`SRV-A->SRV-B`), and the operations
 * that act on several at once: scenario faults, the API's groups and partitions, reset.
 */
export class SiteLinks {
  private readonly links = new Map<string, LinkState>()

  constructor (readonly servers: readonly string[], address: (from: string, to: string) => { listen: string, upstream: string }) {
    for (const a of servers) {
      for (const b of servers) {
        if (a === b) continue
        const { listen, upstream } = address(a, b)
        const link = new LinkState(a, b, listen, upstream)
        this.links.set(link.name, link)
      }
    }
  }

  all (): LinkState[] {
    return [...this.links.values()]
  }

  get (name: string): LinkState {
    const link = this.links.get(name)
    if (link === undefined) throw new ProxyNotFoundError(name, [...this.links.keys()])
    return link
  }

  link (from: string, to: string): LinkState {
    return this.get(linkName(from, to))
  }

  /** Server names as the site spells them; an unknown one is an error that lists the known. */
  resolve (names: readonly string[]): string[] {
    return names.map(n => {
      const found = this.servers.find(s => s.toUpperCase() === n.toUpperCase())
      if (found === undefined) throw new UnknownServerError(n, this.servers)
      return found
    })
  }

  /** The links from each of `from` to each of `to` (and back, with `bothWays`), each once. */
  between (from: readonly string[], to: readonly string[], bothWays = false): LinkState[] {
    const a = this.resolve(from)
    const b = this.resolve(to)
    const out = new Map<string, LinkState>()
    for (const x of a) {
      for (const y of b) {
        if (x === y) continue
        out.set(linkName(x, y), this.link(x, y))
        if (bothWays) out.set(linkName(y, x), this.link(y, x))
      }
    }
    return [...out.values()]
  }

  /** Cuts links: a black hole (the partition toxic) or refused connects (the link disabled). */
  cut (links: ReadonlyArray<readonly [string, string]>, mode: 'blackhole' | 'refuse'): LinkState[] {
    const cut = links.map(([a, b]) => this.link(a, b))
    for (const l of cut) {
      if (mode === 'refuse') l.setEnabled(false)
      else if (!l.has(PARTITION_TOXIC)) l.addToxic(partitionToxic())
    }
    return cut
  }

  /** Sets (or with 0 removes) the latency a scenario adds to links, each way. */
  slow (links: ReadonlyArray<readonly [string, string]>, ms: number): void {
    for (const [a, b] of links) {
      const l = this.link(a, b)
      if (l.has(LATENCY_TOXIC)) l.removeToxic(LATENCY_TOXIC)
      if (ms > 0) l.addToxic(latencyToxic(ms))
    }
  }

  /** A scenario's join or heal: every link to or from the targets as new (no toxic, enabled). */
  restore (targets: readonly string[]): LinkState[] {
    return this.all().filter(l => (targets.includes(l.from) || targets.includes(l.to)) && l.reset())
  }

  /** Heals every partition: the partition toxics go and every disabled link is enabled again. */
  heal (): LinkState[] {
    const healed: LinkState[] = []
    for (const l of this.all()) {
      const had = l.has(PARTITION_TOXIC) || !l.enabled
      if (l.has(PARTITION_TOXIC)) l.removeToxic(PARTITION_TOXIC)
      l.setEnabled(true)
      if (had) healed.push(l)
    }
    return healed
  }

  /** Toxiproxy's `POST /reset`: every link enabled, every toxic removed. */
  reset (): LinkState[] {
    return this.all().filter(l => l.reset())
  }
}
