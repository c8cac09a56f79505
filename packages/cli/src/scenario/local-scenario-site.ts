import type { MtaStatusDocument } from '@xcon/core'
import { join } from 'node:path'
import { cutLinks, type FaultStep } from '@xcon/core'
import type { DeliveryRecord } from '../admin-client.js'
import { LocalSite } from '../local-site.js'
import { LogFollower } from '../log-follower.js'
import type { ProcessState } from '../processes.js'
import { LinkProxy } from './link-proxy.js'
import type { ScenarioSite } from './scenario-site.js'

/**
 * A scenario's site on the local backend: each MTA a child process, and a TCP proxy on every
 * directed link (XCON_PEER_ADDRESSES points each MTA at its proxies), so that a partition cuts
 * real sockets.
 */
export class LocalScenarioSite implements ScenarioSite {
  readonly backend = 'local' as const
  private follower: LogFollower | undefined

  private constructor (private readonly site: LocalSite, private readonly proxies: Map<string, LinkProxy>) {}

  /** Prepares the site under `outDir/site` from the run's topology file; starts nothing yet. */
  static async create (outDir: string, topologyFile: string): Promise<LocalScenarioSite> {
    const site = await LocalSite.prepare({ dataDir: join(outDir, 'site'), topologyFile, fresh: true })
    const names = site.names
    const proxies = new Map<string, LinkProxy>()
    for (const a of names) {
      for (const b of names) {
        if (a === b) continue
        const proxy = new LinkProxy(a, b, { host: '127.0.0.1', port: site.server(b).port })
        await proxy.listen()
        proxies.set(`${a}>${b}`, proxy)
      }
      site.setEnv(a, { XCON_PEER_ADDRESSES: names.filter(b => b !== a).map(b => `${b}=127.0.0.1:${proxies.get(`${a}>${b}`)!.port}`).join(',') })
    }
    return new LocalScenarioSite(site, proxies)
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
      case 'kill': return await each(async n => await site.kill(n))
      case 'stop': return await each(async n => await site.stop(n))
      case 'start': return await each(async n => await site.start(n))
      case 'restart': return await each(async n => await site.restart(n))
      case 'pause': return await each(async n => await site.pause(n))
      case 'resume': return await each(async n => await site.resume(n))
      case 'partition':
        for (const [a, b] of cutLinks(step)) await this.proxies.get(`${a}>${b}`)?.set(step.mode ?? 'blackhole')
        return
      case 'latency':
        for (const [a, b] of cutLinks(step)) this.proxies.get(`${a}>${b}`)!.latencyMs = step.delayMs ?? 0
        return
      case 'join':
        await this.restoreLinks(step.targets)
        return
      case 'heal':
        await this.restoreLinks(step.targets)
        await each(async n => {
          const state = site.processState(n)
          if (state === 'paused') await site.resume(n)
          if (state === 'down') await site.start(n)
        })
    }
  }

  /** Every link to or from the targets passes again, with no added latency. */
  private async restoreLinks (targets: string[]): Promise<void> {
    for (const p of this.proxies.values()) {
      if (!targets.includes(p.from) && !targets.includes(p.to)) continue
      p.latencyMs = 0
      await p.set('pass')
    }
  }

  async close (): Promise<void> {
    await Promise.all(this.names.map(async n => await this.site.stop(n)))
    this.follower?.stop()
    for (const p of this.proxies.values()) await p.close()
  }
}

