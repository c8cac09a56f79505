import type { MtaStatusDocument } from '@xcon/core'
import { join } from 'node:path'
import { cutLinks, type FaultStep } from '@xcon/core'
import { LinkApi, type LinkApiChange } from '../links/link-api.js'
import { SiteProxies } from '../links/site-proxies.js'
import type { DeliveryRecord } from '../site/admin-client.js'
import { LocalSite } from '../site/local/local-site.js'
import { updateSiteState } from '../site/local/site-state.js'
import { LogFollower } from '../logs/log-follower.js'
import type { ProcessState } from '../site/site-backend.js'
import type { ScenarioSite } from './scenario-site.js'

/**
 * A scenario's site on the local backend: each MTA a child process, and a TCP proxy on every
 * directed link (XCON_PEER_ADDRESSES points each MTA at its proxies), so that a partition cuts
 * real sockets. The schedule's partitions and latency are toxics on those links, and the same
 * links answer the Toxiproxy-compatible API while the run lasts (docs/links.md).
 */
export class LocalScenarioSite implements ScenarioSite {
  readonly backend = 'local' as const
  private follower: LogFollower | undefined
  private readonly linkListeners: Array<(change: LinkApiChange) => void> = []
  private api: LinkApi | undefined

  private constructor (private readonly site: LocalSite, private readonly proxies: SiteProxies) {}

  /** Prepares the site under `siteDir` (default `outDir/site`) from the run's topology file; starts nothing yet. */
  static async create (outDir: string, topologyFile: string, siteDir?: string): Promise<LocalScenarioSite> {
    // The links live in this process, on the ports prepare() chose with the MTAs'.
    const site = await LocalSite.prepare({ dataDir: siteDir ?? join(outDir, 'site'), topologyFile, fresh: siteDir === undefined, links: true })
    const links = updateSiteState(site.dataDir, s => { s.links!.servedBy = 'scenario' }).links!
    const proxies = await SiteProxies.open(site.names, b => ({ host: '127.0.0.1', port: site.server(b).port }), { ports: links.ports })
    const scenarioSite = new LocalScenarioSite(site, proxies)
    scenarioSite.api = await LinkApi.serve(proxies, change => { for (const l of scenarioSite.linkListeners) l(change) }, links.apiPort)
    return scenarioSite
  }

  /** The link API's address, for the run's first lines. */
  get linkApiUrl (): string | undefined {
    return this.api?.url
  }

  /** Changes made through the link API during the run (the runner records them as faults). */
  onLinkChange (listener: (change: LinkApiChange) => void): void {
    this.linkListeners.push(listener)
  }

  get where (): string {
    return `processes under ${this.site.dataDir}`
  }

  get names (): string[] {
    return this.site.names
  }

  async startAll (): Promise<void> {
    for (const n of this.names) this.site.spawn(n)
    await Promise.all(this.names.map(async n => await this.site.waitReady(n)))
  }

  async states (): Promise<Map<string, ProcessState>> {
    return new Map(this.names.map(n => [n, this.site.processState(n)]))
  }

  async fetchStatus (name: string, timeoutMs: number): Promise<MtaStatusDocument | undefined> {
    return await this.site.fetchStatus(name, timeoutMs)
  }

  async deliveries (name: string, after: number, timeoutMs: number): Promise<DeliveryRecord[]> {
    return await this.site.deliveries(name, after, timeoutMs)
  }

  async submit (name: string, body: Record<string, unknown>): Promise<string[]> {
    return await this.site.submit(name, body)
  }

  onLogLine (onLine: (line: string) => void): void {
    this.follower = new LogFollower(this.names.map(n => this.site.server(n).logFile), (_, line) => onLine(line))
    this.follower.follow(250)
  }

  /** Processes by signal, links by proxy. */
  async applyFault (step: FaultStep): Promise<void> {
    const site = this.site
    const each = async (fn: (n: string) => Promise<void>): Promise<void> => { await Promise.all(step.targets.map(fn)) }
    switch (step.action) {
      // Local processes have no nodes: a node's MTAs killed together, and started together again.
      case 'fail-node':
      case 'kill': return await each(async n => await site.kill(n))
      case 'restore-node': return await each(async n => await site.start(n))
      case 'stop': return await each(async n => await site.stop(n))
      case 'start': return await each(async n => await site.start(n))
      case 'restart': return await each(async n => await site.restart(n))
      case 'pause': return await each(async n => await site.pause(n))
      case 'resume': return await each(async n => await site.resume(n))
      case 'partition':
        this.proxies.links.cut(cutLinks(step), step.mode ?? 'blackhole')
        return await this.proxies.settled()
      case 'latency':
        this.proxies.links.slow(cutLinks(step), step.delayMs ?? 0)
        return
      case 'join':
        this.proxies.links.restore(step.targets)
        return await this.proxies.settled()
      case 'heal':
        this.proxies.links.restore(step.targets)
        await this.proxies.settled()
        await each(async n => {
          const state = site.processState(n)
          if (state === 'paused') await site.resume(n)
          if (state === 'down') await site.start(n)
        })
    }
  }

  async close (): Promise<void> {
    await Promise.all(this.names.map(async n => await this.site.stop(n)))
    this.follower?.stop()
    await this.api?.close()
    await this.proxies.close()
  }
}

