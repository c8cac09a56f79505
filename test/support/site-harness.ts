import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { promisify } from 'node:util'
import { LocalSite, waitUntil } from '@xcon/cli'

const run = promisify(execFile)
export const XCON = resolve(import.meta.dirname, '../../packages/cli/bin/xcon.js')

/** A site of real MTA processes under a temporary data directory; `close()` kills every one. */
export class TestSite {
  private constructor (readonly site: LocalSite, readonly dir: string) {}

  /** Starts every server (or `only` these), each with its own extra environment from `env`. */
  static async start (topologyYaml: string, opts: { env?: Record<string, Record<string, string>>, only?: string[] } = {}): Promise<TestSite> {
    const dir = mkdtempSync(join(tmpdir(), 'xcon-test-'))
    const file = join(dir, 'topology.yaml')
    writeFileSync(file, topologyYaml)
    const site = await LocalSite.prepare({ dataDir: join(dir, 'site'), topologyFile: file })
    const t = new TestSite(site, dir)
    live.add(t)
    const names = opts.only ?? site.names
    for (const n of names) site.spawn(n, opts.env?.[n])
    await Promise.all(names.map(async n => await site.waitReady(n)))
    return t
  }

  /** Runs the real `xcon` command against this site and returns its stdout. */
  async xcon (...args: string[]): Promise<string> {
    const { stdout } = await run(process.execPath, [XCON, ...args, '--data', this.site.dataDir], { timeout: 60_000 })
    return stdout
  }

  async status (name: string): Promise<any> {
    const s = await this.site.fetchStatus(name, 3000)
    if (s === undefined) throw new Error(`${name} did not answer /status`)
    return s
  }

  async send (from: string, to: string, count = 1, subject = 'test'): Promise<string[]> {
    return await this.site.submit(from, { to: [to], count, subject })
  }

  async deliveries (name: string): Promise<Array<{ mtsId: string, mailbox: string, hops: string[], originator: string, subject: string, kind: string }>> {
    const s = this.site.server(name)
    const res = await fetch(`http://${s.adminHost}:${s.adminPort}/deliveries`)
    return ((await res.json()) as { deliveries: Array<{ mtsId: string, mailbox: string, hops: string[], originator: string, subject: string, kind: string }> }).deliveries
  }

  /** The JSON log records of one MTA, optionally only one event ID. */
  logs (name: string, eventId?: number): Array<Record<string, any>> {
    const file = this.site.server(name).logFile
    if (!existsSync(file)) return []
    return readFileSync(file, 'utf8').split('\n').filter(l => l.startsWith('{')).map(l => JSON.parse(l) as Record<string, any>)
      .filter(r => eventId === undefined || r.eventId === eventId)
  }

  /** Kills every MTA (resuming paused ones first) and removes the data directory. */
  async close (): Promise<void> {
    live.delete(this)
    for (const name of this.site.names) {
      const pid = this.site.server(name).pid
      if (pid !== null) { try { process.kill(pid, 'SIGCONT'); process.kill(pid, 'SIGKILL') } catch { /* gone */ } }
    }
    await new Promise(resolve => setTimeout(resolve, 100))
    rmSync(this.dir, { recursive: true, force: true })
  }
}

const live = new Set<TestSite>()
/** For afterEach: vitest does not kill the child processes a test leaves behind. */
export async function closeAllSites (): Promise<void> {
  await Promise.all([...live].map(async s => await s.close()))
}

/** Polls `check` until it returns a truthy value; fails with `what` after `timeoutMs`. */
export async function waitFor<T> (what: string, check: () => Promise<T> | T, timeoutMs = 30_000, intervalMs = 100): Promise<NonNullable<T>> {
  let last: unknown
  const v = await waitUntil(check, { timeoutMs, intervalMs, failed: err => { last = err } })
  if (v !== undefined) return v
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last === undefined ? '' : ` (last error: ${(last as Error).message})`}`)
}

/** Counts each MTS-ID in a delivery list. */
export function countByMtsId (deliveries: Array<{ mtsId: string }>): Map<string, number> {
  const counts = new Map<string, number>()
  for (const d of deliveries) counts.set(d.mtsId, (counts.get(d.mtsId) ?? 0) + 1)
  return counts
}

/** A one-site topology for tests: site CORP, secret change-me, and the given defaults (YAML flow map body). */
export function siteYaml (servers: string[], defaults: string): string {
  return `sites:\n  CORP:\n    secret: change-me\n    servers: [${servers.join(', ')}]\ndefaults: { ${defaults} }\n`
}
