import { SiteLinks, linkName } from '@xcon/core'
import { freePorts } from '../site/free-ports.js'
import { LinkProxy } from './link-proxy.js'

/** Where each directed link listens: a port per link, on one host. */
export type LinkPorts = Record<string, number>

/**
 * A proxy on every directed link of a site, and the links' state behind them (core's
 * `SiteLinks`): what scenarios, `xcon up --links` and the link API all act through.
 */
export class SiteProxies {
  private constructor (readonly links: SiteLinks, private readonly proxies: Map<string, LinkProxy>, readonly host: string) {}

  /**
   * Listens on every link. `ports` pins each link's port (the links process of `xcon up
   * --links` gets them from site.json); otherwise they are picked as the MTAs' are.
   */
  static async open (servers: readonly string[], upstreamOf: (server: string) => { host: string, port: number }, opts: { host?: string, ports?: LinkPorts } = {}): Promise<SiteProxies> {
    const host = opts.host ?? '127.0.0.1'
    const ports = opts.ports ?? await pickLinkPorts(servers)
    const links = new SiteLinks(servers, (a, b) => {
      const up = upstreamOf(b)
      return { listen: `${host}:${ports[linkName(a, b)]!}`, upstream: `${up.host}:${up.port}` }
    })
    const proxies = new Map<string, LinkProxy>()
    const site = new SiteProxies(links, proxies, host)
    try {
      for (const link of links.all()) {
        const proxy = new LinkProxy(link, upstreamOf(link.to), host)
        proxies.set(link.name, proxy)
        await proxy.listen(ports[link.name])
      }
    } catch (err) {
      await site.close()
      throw err
    }
    return site
  }

  proxy (from: string, to: string): LinkProxy {
    return this.proxies.get(linkName(from, to))!
  }

  all (): LinkProxy[] {
    return [...this.proxies.values()]
  }

  /** Resolves once every change so far has reached the sockets (a disabled link refuses connects). */
  async settled (): Promise<void> {
    await Promise.all(this.all().map(async p => await p.settled()))
  }

  async close (): Promise<void> {
    await Promise.all(this.all().map(async p => await p.close()))
  }
}

/** A port for every directed link of the site, below the kernel's ephemeral range (free-ports.ts). */
export async function pickLinkPorts (servers: readonly string[]): Promise<LinkPorts> {
  const names = servers.flatMap(a => servers.filter(b => b !== a).map(b => linkName(a, b)))
  const ports = await freePorts(names.length)
  return Object.fromEntries(names.map((n, i) => [n, ports[i]!]))
}
