import type { MtaStatusDocument } from '@xcon/core'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { LocalSite, waitUntil, type DeliveryRecord } from '@xcon/cli'

/** A local site of real MTA processes for one measurement; `close()` kills them and removes the data. */
export class BenchSite {
  private constructor (readonly site: LocalSite, private readonly dir: string) {}

  static async start (topologyYaml: string, only?: string[]): Promise<BenchSite> {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-bench-'))
    writeFileSync(join(dir, 'topology.yaml'), topologyYaml)
    const site = await LocalSite.prepare({ dataDir: join(dir, 'site'), topologyFile: join(dir, 'topology.yaml') })
    const b = new BenchSite(site, dir)
    try {
      const names = only ?? site.names
      for (const n of names) site.spawn(n)
      // A cold start of many processes on two cores takes about a second of CPU each: wait in proportion.
      await Promise.all(names.map(async n => await site.waitReady(n, 60_000 + 1500 * names.length)))
    } catch (err) {
      await b.close() // nobody else holds the site yet: do not leave its MTAs running
      throw err
    }
    return b
  }

  async status (name: string): Promise<MtaStatusDocument> {
    const s = await this.site.fetchStatus(name, 5000)
    if (s === undefined) throw new Error(`${name} did not answer`)
    return s
  }

  async deliveries (name: string, after = 0): Promise<DeliveryRecord[]> {
    return await this.site.deliveries(name, after)
  }

  /** Submits `count` messages in requests of `batch`. */
  async submit (from: string, to: string, count: number, batch = 5000): Promise<void> {
    for (let done = 0; done < count; done += batch) {
      await this.site.submit(from, { to: [to], count: Math.min(batch, count - done), subject: 'bench', body: 'a'.repeat(1024) })
    }
  }

  pid (name: string): number {
    return this.site.server(name).pid!
  }

  /** Whether the MTA's process still runs. */
  alive (name: string): boolean {
    try {
      process.kill(this.pid(name), 0)
      return true
    } catch {
      return false
    }
  }

  /** The last `lines` lines of the MTA's log, before `close()` removes it. */
  logTail (name: string, lines: number): string {
    try {
      return readFileSync(this.site.server(name).logFile, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
    } catch (err) {
      return `(no log: ${(err as Error).message})`
    }
  }

  async close (): Promise<void> {
    for (const n of this.site.names) {
      const pid = this.site.server(n).pid
      if (pid !== null) { try { process.kill(pid, 'SIGCONT'); process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    }
    await new Promise(resolve => setTimeout(resolve, 200))
    rmSync(this.dir, { recursive: true, force: true })
  }
}

/** An error's message with its cause's code (fetch says only "fetch failed" and puts the reason there). */
export function errorText (err: unknown): string {
  const e = err as Error & { cause?: { code?: string, message?: string } }
  const cause = e.cause?.code ?? e.cause?.message
  return `${e.message}${cause === undefined ? '' : ` (${cause})`}`
}

/** Polls until `check` is true or `timeoutMs` passes; returns the elapsed ms, or throws. */
export async function until (what: string, check: () => Promise<boolean>, timeoutMs: number, intervalMs = 50): Promise<number> {
  const start = Date.now()
  let last: Error | undefined
  // A busy MTA may miss one request: that is "not yet".
  if (await waitUntil(check, { timeoutMs, intervalMs, failed: err => { last = err as Error } }) === true) return Date.now() - start
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last: ${last.message})`}`)
}

export const twoMtas = (controlBlocks = 20): string => `sites:\n  CORP: { secret: bench, servers: [SRV-A, SRV-B] }\ndefaults: { build: 2653, timeScale: 600, controlBlocks: ${controlBlocks}, traffic: off }\n`
